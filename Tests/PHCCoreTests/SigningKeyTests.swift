#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCTestSupport
import Testing

@testable import PHCCore

@Suite("Signing keys")
struct SigningKeyTests {
    @Test("create writes PKCS#8 PEM with mode 0600 and load reads it back")
    func createAndLoad() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("etc/phc/agent.key")
        let created = try SigningKey.create(at: path)
        let status = try FileStatus(path: path)
        #expect(status.permissions == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(try SigningKey.load(path: path).publicKey == created.publicKey)
    }

    @Test("create refuses to overwrite and leaves the old key alone")
    func refusesOverwrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("agent.key")
        _ = try SigningKey.create(at: path)
        let before = try Repository.read(path)
        #expect(throws: KeyFileError.alreadyExists(path: path)) { try SigningKey.create(at: path) }
        #expect(try Repository.read(path) == before)
    }

    @Test("a key readable by others, a directory, garbage and a missing file are refused with the path")
    func badKeyFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("agent.key")
        _ = try SigningKey.create(at: path)
        chmod(path, 0o644)
        #expect(throws: KeyFileError.tooOpen(path: path, mode: 0o644)) { try SigningKey.load(path: path) }
        chmod(path, 0o640)
        _ = try SigningKey.load(path: path)

        let garbage = try directory.write("garbage.key", "not a key\n", mode: 0o600)
        #expect(throws: KeyFileError.self) { try SigningKey.load(path: garbage) }
        let missing = directory.file("missing.key")
        let error = #expect(throws: KeyFileError.self) { try SigningKey.load(path: missing) }
        #expect(error?.description.contains("phc-agent keygen --key \(missing)") == true)
        let folder = try directory.folder("folder.key", mode: 0o700)
        #expect(throws: KeyFileError.self) { try SigningKey.load(path: folder) }
    }

    @Test("keys interoperate with OpenSSL both ways", .enabled(if: Command.which("openssl") != nil, "needs openssl"))
    func openSSLInterop() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // OpenSSL writes, we read: same public key.
        let theirs = directory.file("openssl.key")
        #expect(
            try await Command.run(Command.which("openssl")!, ["genpkey", "-algorithm", "ed25519", "-out", theirs])
                .status == 0)
        chmod(theirs, 0o600)
        let der = directory.file("openssl.pub.der")
        _ = try await Command.run(
            Command.which("openssl")!, ["pkey", "-in", theirs, "-pubout", "-outform", "DER", "-out", der])
        let publicDER = try Repository.read(der)
        #expect(try SigningKey.load(path: theirs).publicKey.rawBytes == Array(publicDER.suffix(32)))

        // We write, OpenSSL reads: same public key.
        let ours = directory.file("ours.key")
        let created = try SigningKey.create(at: ours)
        let ourDER = directory.file("ours.pub.der")
        let result = try await Command.run(
            Command.which("openssl")!, ["pkey", "-in", ours, "-pubout", "-outform", "DER", "-out", ourDER])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Array(try Repository.read(ourDER).suffix(32)) == created.publicKey.rawBytes)
    }

    @Test("public key lines parse and print as ed25519:<base64>")
    func publicKeyLines() throws {
        let key = try SigningKey(seed: [UInt8](repeating: 3, count: 32))
        let line = key.publicKey.line
        #expect(line.hasPrefix("ed25519:"))
        #expect(PublicKey(line: line) == key.publicKey)
        #expect(PublicKey(line: "ed25519:" + Data([1, 2, 3]).base64EncodedString()) == nil)
        #expect(PublicKey(line: "ssh-ed25519 AAAA") == nil)
    }
}
