#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// Runs programs from tests and finds the package's built executables.
public enum Command {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var seconds: Double
    }

    /// Runs `executable` with `arguments` on a thread of its own (so a test waiting for a
    /// child never holds one of the few threads of Swift's cooperative pool); stdout and
    /// stderr captured; waits at most `timeout` seconds.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Double = 60
    ) async throws -> Output {
        let result: Result<Output, any Error> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    returning: Result {
                        try runBlocking(executable, arguments, environment: environment, timeout: timeout)
                    })
            }
            thread.start()
        }
        return try result.get()
    }

    /// ``run(_:_:environment:timeout:)`` on the calling thread.
    public static func runBlocking(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Double = 60
    ) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        // Read on background threads so a chatty child cannot fill a pipe and stall.
        let stdoutData = Locked(Data())
        let stderrData = Locked(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stdoutData.set(out.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            stderrData.set(err.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let finished = group.wait(timeout: .now() + timeout)
        if finished == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            throw POSIXFailure("\(executable) \(arguments.joined(separator: " ")) ran past \(timeout)s", ETIMEDOUT)
        }
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: stdoutData.get(), as: UTF8.self),
            stderr: String(decoding: stderrData.get(), as: UTF8.self),
            seconds: Date().timeIntervalSince(start))
    }

    /// The full path of `name` on PATH.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for folder in folders {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A product built next to the test bundle (`.build/debug/phc-agent`).
    public static func built(_ name: String) -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var folder = (exe as NSString).deletingLastPathComponent
        // The test runner may live inside an .xctest bundle folder.
        while !folder.isEmpty, folder != "/" {
            let candidate = folder + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return name
    }

    /// Pids of live processes whose name (comm) is `name`.
    public static func pids(named name: String) -> Set<Int32> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var found: Set<Int32> = []
        for entry in entries {
            guard let pid = Int32(entry),
                let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let state = stat[stat.index(close, offsetBy: 2)]
            if state != "Z" { found.insert(pid) }
        }
        return found
    }
}

/// A value behind a lock, for test helpers that collect from threads.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ newValue: Value) { lock.withLock { value = newValue } }
    @discardableResult
    public func update<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
