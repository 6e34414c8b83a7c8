#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import PHCCore

/// Facts about the host the agent runs on, read from the kernel and /etc.
public enum HostFacts {
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `PRETTY_NAME` from /etc/os-release, such as "Fedora Linux 41".
    public static func operatingSystem() -> String {
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            guard let data = try? FileReader.read(path, limit: 64 * 1024),
                let text = String(data: data, encoding: .utf8)
            else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                var value = line.dropFirst("PRETTY_NAME=".count)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                    value = value.dropFirst().dropLast()
                }
                return String(value)
            }
        }
        return "Linux"
    }

    /// The kernel release, such as "6.11.4".
    public static func kernelRelease() -> String {
        var info = utsname()
        guard uname(&info) == 0 else { return "unknown" }
        return withUnsafePointer(to: info.release) {
            $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
        }
    }

    /// This boot's id from /proc/sys/kernel/random/boot_id (changes at every boot, so
    /// never within a process: read once). Empty when it cannot be read.
    public static let bootID: String = {
        guard let data = try? FileReader.read("/proc/sys/kernel/random/boot_id", limit: 128),
            let text = String(data: data, encoding: .utf8)
        else { return "" }
        return text.trimmed()
    }()

    /// Online CPUs.
    public static func cpuCount() -> Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Seconds since boot.
    public static func uptimeSeconds() -> Int64? {
        guard let data = try? FileReader.read("/proc/uptime", limit: 256),
            let text = String(data: data, encoding: .utf8),
            let first = text.split(separator: " ").first, let value = Double(first)
        else { return nil }
        return Int64(saturating: value)
    }
}
