#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
public import PHCCore

/// Publishing, after the pass's commit: `fleet.json`, `phc.prom` and `index.html` into
/// `publish_dir`, each written atomically (a temporary `.<name>.<random>.tmp`, which neither the
/// collector nor node_exporter's textfile collector reads, renamed over the old file).
public struct Publisher: Sendable {
    public var configuration: CollectorConfiguration
    public var host: String
    public var clock: WallClock

    public init(configuration: CollectorConfiguration, host: String = HostName.short(), clock: WallClock = .system) {
        self.configuration = configuration
        self.host = host
        self.clock = clock
    }

    public static let files = ["fleet.json", "phc.prom", "index.html"]

    /// Writes the three files.
    ///
    /// - Parameter passMilliseconds: the pass's duration, for `phc.prom` and `fleet.json`.
    /// - Throws: ``StoreError`` when the database cannot be read, ``SystemError`` when a file cannot be written.
    public func publish(passMilliseconds: Int64) throws {
        let now = clock.now().secondsSinceEpoch
        let report = try FleetReport.build(configuration: configuration, clock: clock)
        let store = try CollectorStore(path: configuration.database, readOnly: true)
        try Directory.create(configuration.publishDir, mode: 0o755)
        let document = FleetDocument(report: report, host: host, passMilliseconds: passMilliseconds)
        try AtomicFile.write(document.encoded(), to: configuration.publishDir + "/fleet.json")
        let prom = PromText.render(
            PromText.Input(
                report: report, series: try store.series(), passSeconds: Double(passMilliseconds) / 1000,
                passFinishedAt: now))
        try AtomicFile.write(Data(prom.utf8), to: configuration.publishDir + "/phc.prom")
        let page = HTMLPage.render(
            HTMLPage.Input(report: report, charts: try Self.charts(report, store: store, now: now), host: host))
        try AtomicFile.write(Data(page.utf8), to: configuration.publishDir + "/index.html")
    }

    /// The page as `report --format html` prints it.
    public static func page(
        configuration: CollectorConfiguration, host: String = HostName.short(), clock: WallClock = .system
    )
        throws -> String
    {
        let report = try FleetReport.build(configuration: configuration, clock: clock)
        let store = try CollectorStore(path: configuration.database, readOnly: true)
        return HTMLPage.render(
            HTMLPage.Input(
                report: report, charts: try charts(report, store: store, now: clock.now().secondsSinceEpoch), host: host
            ))
    }

    /// Charts for the devices the page shows in full.
    static func charts(_ report: FleetReport, store: CollectorStore, now: Int64) throws -> [String: [ChartData]] {
        let shown = HTMLPage.ordered(report.devices).prefix(HTMLPage.detailed).filter {
            HTMLPage.rank($0) < 5 || report.devices.count <= HTMLPage.detailed
        }
        var charts: [String: [ChartData]] = [:]
        for device in shown {
            let name = device.device.lowercased()
            var data: [ChartData] = []
            for series in Charts.pick(try store.series(device: name), limit: 4) {
                data += try Charts.data(for: series, store: store, now: now)
            }
            if !data.isEmpty { charts[name] = data }
        }
        return charts
    }
}
