#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("Files: atomic writes, capped reads, gzip, timestamps")
struct FileTests {
    @Test("an atomic write replaces the file and leaves no temporary behind")
    func atomicWrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("manifest.json")
        try AtomicFile.write(Data("one".utf8), to: path)
        try AtomicFile.write(Data("two".utf8), to: path, mode: 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two")
        #expect(try FileStatus(path: path).permissions == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["manifest.json"])
    }

    @Test("an atomic copy writes a file's content then a tail; a source that cannot be read keeps the old file")
    func atomicCopy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = directory.file("phc-fleet.prom")
        // Larger than one page cache folio and than any single write, so the copy loops if it must.
        let content = (0..<300_000).map { "line \($0)\n" }.joined()
        try AtomicFile.write(Data(content.utf8), to: source)
        let target = directory.file("phc.prom")
        try AtomicFile.write(Data("old".utf8), to: target)
        try AtomicFile.write(copying: source, then: Array("tail\n".utf8), to: target, mode: 0o640)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == content + "tail\n")
        #expect(try FileStatus(path: target).permissions == 0o640)
        let missing = directory.file("nope")
        let error = #expect(throws: SystemError.self) {
            try AtomicFile.write(copying: missing, then: [], to: target)
        }
        #expect(error?.description.contains(missing) == true)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == content + "tail\n")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
                "phc-fleet.prom", "phc.prom",
            ])
    }

    @Test("a failed atomic write keeps the old file", .enabled(if: Mounts.canMount, "needs root to mount"))
    func failedWriteKeepsOld() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let mount = directory.file("share")
        try Mounts.tmpfs(at: mount)
        try AtomicFile.write(Data("old".utf8), to: mount + "/file")
        try Mounts.remount(mount, readOnly: true)
        let error = #expect(throws: SystemError.self) { try AtomicFile.write(Data("new".utf8), to: mount + "/file") }
        #expect(error?.errno == EROFS)
        #expect(error?.description.contains(mount) == true)
        #expect(try String(contentsOfFile: mount + "/file", encoding: .utf8) == "old")
    }

    @Test("capped reads refuse directories, FIFOs and a sparse 1 GiB file without reading them")
    func cappedReads() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let big = directory.file("big")
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        #expect(truncate(big, 1 << 30) == 0)
        #expect(throws: FileReader.Failure.tooLarge(path: big, size: 1 << 30, limit: 1024)) {
            try FileReader.read(big, limit: 1024)
        }
        let folder = try directory.folder("folder")
        #expect(throws: FileReader.Failure.notAFile(path: folder, kind: .directory)) {
            try FileReader.read(folder, limit: 10)
        }
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: FileReader.Failure.notAFile(path: fifo, kind: .other)) { try FileReader.read(fifo, limit: 10) }
        #expect(throws: FileReader.Failure.notFound(path: directory.file("nope"))) {
            try FileReader.read(directory.file("nope"), limit: 10)
        }
        // /proc files report size 0 but have content.
        #expect(try FileReader.read("/proc/self/stat", limit: 4096).count > 10)
    }

    @Test("gzip round trip, and data from the gzip tool", arguments: [0, 1, 1000, 300_000])
    func gzipRoundTrip(size: Int) throws {
        let input = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) })
        let packed = try Gzip.compress(input)
        #expect(packed.starts(with: [0x1f, 0x8b]))
        #expect(try Gzip.decompress(packed) == input)
    }

    @Test(
        "gzip interoperates with the gzip tool and rejects truncated input",
        .enabled(if: Command.which("gzip") != nil, "needs gzip"))
    func gzipInterop() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = String(repeating: "{\"payloadType\":\"x\"}\n", count: 500)
        try directory.write("lines", text)
        _ = try await Command.run(Command.which("gzip")!, [directory.file("lines")])
        let packed = try Repository.read(directory.file("lines.gz"))
        #expect(try Gzip.decompress(packed) == Data(text.utf8))
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(packed.prefix(packed.count / 2)) }
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(packed, limit: 100) }

        try Data(try Gzip.compress(Data(text.utf8))).write(to: URL(fileURLWithPath: directory.file("ours.gz")))
        let result = try await Command.run(Command.which("gzip")!, ["-dc", directory.file("ours.gz")])
        #expect(result.stdout == text)
    }

    @Test("timestamps format and parse RFC 3339")
    func timestamps() {
        let time = Timestamp(secondsSinceEpoch: 1_795_773_603)
        #expect(time.description == "2026-11-27T10:00:03Z")
        #expect(Timestamp(rfc3339: "2026-11-27T10:00:03Z") == time)
        #expect(Timestamp(rfc3339: "2026-11-27T11:00:03+01:00") == time)
        #expect(Timestamp(rfc3339: "2026-11-27 10:00:03.123456Z") == time)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.secondsSinceEpoch == 0)
        #expect(Timestamp(rfc3339: "2024-02-29T00:00:00Z")?.description == "2024-02-29T00:00:00Z")
        #expect(Timestamp(secondsSinceEpoch: -1).description == "1969-12-31T23:59:59Z")
        for bad in ["", "2026-11-27", "2026-13-01T00:00:00Z", "2026-11-27T10:00:03", "yesterday"] {
            #expect(Timestamp(rfc3339: bad) == nil, "\(bad)")
        }
    }
}
