import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("Untrusted values: saturating arithmetic, inert text, streamed gzip lines, manifest ranges")
struct UntrustedValueTests {
    @Test("arithmetic on device times saturates instead of trapping")
    func saturating() {
        #expect(Int64.max.saturatingAdd(1) == .max && Int64.min.saturatingAdd(-1) == .min)
        #expect(Int64.min.saturatingSubtract(1) == .min && Int64.max.saturatingSubtract(-1) == .max)
        #expect(Int64.max.saturatingMultiply(2) == .max && Int64.min.saturatingMultiply(2) == .min)
        #expect(Int64.max.saturatingMultiply(-2) == .min)
        #expect(Int64.min.saturatingMagnitude == .max && Int64(-5).saturatingMagnitude == 5)
        #expect((Timestamp(secondsSinceEpoch: .max) + 10).secondsSinceEpoch == .max)
        #expect(Timestamp(secondsSinceEpoch: .min).seconds(since: Timestamp(secondsSinceEpoch: .max)) == .min)
        #expect(Duration.seconds(Int64.max).milliseconds == .max)
        // Printing absurd times works too.
        #expect(Timestamp(secondsSinceEpoch: .min).description.hasSuffix("Z"))
        #expect(Timestamp(secondsSinceEpoch: .max).description.hasSuffix("Z"))
        #expect(Timestamp(secondsSinceEpoch: 10_413_792_000).description == "2300-01-01T00:00:00Z")
    }

    @Test("terminal text: escapes are shown, not obeyed; one value is one line")
    func terminal() {
        #expect(InertText.terminal("plain text, ünïcode ✓") == "plain text, ünïcode ✓")
        #expect(InertText.terminal("\u{1B}[31mred\u{07}") == "\\x1b[31mred\\x07")
        #expect(InertText.terminal("a\nb\rc\td") == "a b c d")
        #expect(InertText.terminal("\u{9B}2J\u{7F}") == "\\x9b2J\\x7f")
        #expect(InertText.terminal("abc\u{202E}cba") == "abc\\u{202e}cba")
    }

    @Test("Markdown cells: table syntax and markup escaped")
    func markdown() {
        #expect(InertText.markdownCell("a | b\nc") == "a \\| b c")
        #expect(InertText.markdownCell("<script>*x*</script>") == "&lt;script&gt;\\*x\\*&lt;/script&gt;")
    }

    @Test("clipping keeps whole characters and says how much was cut")
    func clipping() {
        #expect(InertText.clipped("short", to: 10) == "short")
        #expect(InertText.clipped("ééééé", to: 5) == "éé… (6 more bytes)")
    }

    @Test("gzip lines: members in turn, long lines reported not kept, truncation and garbage are errors")
    func gzipLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try Gzip.compress(Data("one\ntwo\n".utf8))
        let second = try Gzip.compress(Data((String(repeating: "x", count: 100) + "\n\nthree").utf8))
        let path = directory.file("lines.gz")
        try (first + second).write(to: URL(fileURLWithPath: path))
        var seen: [String] = []
        let complete = try GzipLineReader.forEachLine(
            path: path, compressedLimit: 1 << 20, decompressedLimit: 1 << 20, lineLimit: 10
        ) { item in
            switch item {
            case .line(let data): seen.append(String(decoding: data, as: UTF8.self))
            case .oversized(let bytes): seen.append("<\(bytes) bytes>")
            }
            return true
        }
        #expect(complete && seen == ["one", "two", "<100 bytes>", "three"])

        try first.dropLast(6).write(to: URL(fileURLWithPath: path))
        #expect(throws: GzipLineReader.Failure.self) {
            try GzipLineReader.forEachLine(
                path: path, compressedLimit: 1 << 20, decompressedLimit: 1 << 20, lineLimit: 10
            ) { _ in true }
        }
        try Data("not gzip at all".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: GzipLineReader.Failure.self) {
            try GzipLineReader.forEachLine(
                path: path, compressedLimit: 1 << 20, decompressedLimit: 1 << 20, lineLimit: 10
            ) { _ in true }
        }
        // A body that asks to stop ends the reading there.
        try first.write(to: URL(fileURLWithPath: path))
        var count = 0
        let stopped = try GzipLineReader.forEachLine(
            path: path, compressedLimit: 1 << 20, decompressedLimit: 1 << 20, lineLimit: 10
        ) { _ in
            count += 1
            return false
        }
        #expect(!stopped && count == 1)
    }

    @Test(
        "manifests outside the ranges are refused with the field named",
        arguments: [
            (Int64(0), Int64(60), Int64(180), "sequence 0 is outside"),
            (Int64.max, 60, 180, "sequence 9223372036854775807 is outside"),
            (1, 0, 180, "interval_s 0 is outside"),
            (1, 300_000_000_000, 180, "interval_s 300000000000 is outside"),
            (1, 60, 0, "is not after issued_at"),
            (1, 60, 40 * 86400, "more than 30 days after issued_at"),
        ] as [(Int64, Int64, Int64, String)])
    func ranges(sequence: Int64, interval: Int64, lifetime: Int64, reason: String) throws {
        let issued = Timestamp(rfc3339: "2026-11-27T10:00:00Z")!
        let manifest = Manifest(
            device: "armitage", agent: AgentInfo(version: "0.1.0", os: "x", kernel: "y"), sequence: sequence,
            issuedAt: issued, expiresAt: issued + lifetime, intervalS: interval, bootID: "b", checks: [])
        let error = #expect(throws: ManifestError.self) { try Manifest.decode(manifest.encoded()) }
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }
}
