#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import PHCCore
import PHCTestSupport

@testable import PHCCollector

/// A devices folder with signed manifests written the way phc-agent writes them.
final class FleetFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    var devicesDir: String { directory.file("devices") }
    var keys: [String: SigningKey] = [:]
    var sequences: [String: Int64] = [:]
    var clock: Timestamp = Timestamp(rfc3339: "2026-11-27T10:00:00Z")!

    init() throws {
        directory = try TemporaryDirectory("phc-fleet")
        try directory.folder("devices")
    }

    func remove() { directory.remove() }

    func key(_ device: String) -> SigningKey {
        if let key = keys[device] { return key }
        let key = SigningKey()
        keys[device] = key
        return key
    }

    /// A signed envelope line for `device` (signed by `signer`'s key, default the device's own).
    func envelope(
        _ device: String, sequence: Int64? = nil, statuses: [String: CheckStatus] = ["system": .ok],
        signer: String? = nil,
        issuedAt: Timestamp? = nil, summary: String? = nil, status: CheckStatus? = nil,
        observations: [String: ObservationValue] = [:], interval: Int64 = 60
    ) throws -> Data {
        let statuses = status.map { ["system": $0] } ?? statuses
        let sequence = sequence ?? (sequences[device, default: 0] + 1)
        sequences[device] = max(sequences[device, default: 0], sequence)
        let issued = issuedAt ?? clock
        let manifest = Manifest(
            device: device, agent: AgentInfo(version: "0.1.0", os: "Fedora Linux 41", kernel: "6.11.4"),
            sequence: sequence, issuedAt: issued, expiresAt: issued + 3 * interval, intervalS: interval, bootID: "boot",
            checks: statuses.sorted { $0.key < $1.key }.map { id, status in
                CheckResult(
                    id: id, kind: String(id.prefix { $0 != ":" }), status: status,
                    summary: summary ?? "\(id) is \(status.rawValue)",
                    observations: id.hasPrefix("gpu") ? observations : [:])
            })
        return try DSSEEnvelope.sign(
            payload: manifest.encoded(), payloadType: Manifest.payloadType, with: key(signer ?? device)
        ).encoded()
    }

    /// Publishes `manifest.json` for `device` (folder named `folder`, default the device).
    @discardableResult
    func publish(
        _ device: String, folder: String? = nil, data: Data? = nil, statuses: [String: CheckStatus] = ["system": .ok]
    )
        throws -> Data
    {
        let bytes = try data ?? envelope(device, statuses: statuses)
        let health = try directory.folder("devices/\(folder ?? device)/_health")
        try AtomicFile.write(bytes + [UInt8(ascii: "\n")], to: health + "/manifest.json")
        // Written when issued, as an agent writes it: no clock skew between the file and the payload.
        let seconds = Int(clock.secondsSinceEpoch)
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        utimensat(AT_FDCWD, health + "/manifest.json", &times, 0)
        return bytes
    }

    func configuration(devices: [String: DeviceConfiguration]? = nil, extra: String = "") throws
        -> CollectorConfiguration
    {
        var text = "devices_dir: devices\ndatabase: state/collector.sqlite\n\(extra)\ndevices:\n"
        for (name, device) in (devices ?? keys.mapValues { _ in DeviceConfiguration(name: "") }).sorted(by: {
            $0.key < $1.key
        }) {
            var keyLines = device.keys.map(\.line)
            if keyLines.isEmpty, let key = keys[name] { keyLines = [key.publicKey.line] }
            text +=
                "  \(name): {always_on: \(device.alwaysOn), legacy: \(device.legacy), keys: [\(keyLines.map { "\"\($0)\"" }.joined(separator: ", "))]}\n"
        }
        let path = try directory.write("collector.yaml", text)
        return try CollectorConfiguration.load(path: path)
    }

    func collector(_ configuration: CollectorConfiguration, at time: Timestamp? = nil) -> Collector {
        Collector(
            configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            clock: .fixed(time ?? clock))
    }

    func store(_ configuration: CollectorConfiguration) throws -> CollectorStore {
        try CollectorStore(path: configuration.database)
    }
}
