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

    /// The fleet's part of `phc.prom`, kept between passes next to the database: a pass that
    /// changed nothing visible rewrites `phc.prom` from it with its own figures, and leaves the
    /// other files as they are.
    var cachePath: String { AtomicFile.split(configuration.database).directory + "/phc-fleet.prom" }

    /// Everything is rebuilt at least this often, so that ages ("3m ago") are never older.
    public static let refreshSeconds: Int64 = 300

    /// Writes the three files, or, when nothing visible changed (`changed` false) and the files
    /// are fresh enough, only `phc.prom`'s pass figures.
    ///
    /// - Parameter passMilliseconds: the pass's duration, for `phc.prom` and `fleet.json`.
    /// - Returns: whether everything was rebuilt.
    /// - Throws: ``StoreError`` when the database cannot be read, ``SystemError`` when a file cannot be written.
    @discardableResult
    public func publish(passMilliseconds: Int64, changed: Bool = true) throws -> Bool {
        let now = clock.now().secondsSinceEpoch
        let pass = PromText.renderPass(seconds: Double(passMilliseconds) / 1000, finishedAt: now)
        // Nothing changed: the fleet's part of phc.prom is copied from its cache (by the kernel: for
        // 10,000 devices, 7 MB not read into memory and written back), the pass's lines after it. Where
        // that cannot be done, everything is rebuilt.
        if !changed, let built = try? FileStatus(path: cachePath).modified.secondsSinceEpoch,
            now.saturatingSubtract(built) < Self.refreshSeconds,
            Self.files.allSatisfy({ FileStatus.exists(configuration.publishDir + "/" + $0) }),
            (try? AtomicFile.write(
                copying: cachePath, then: Array(pass.utf8), to: configuration.publishDir + "/phc.prom"))
                != nil
        {
            return false
        }
        let report = try FleetReport.build(configuration: configuration, clock: clock)
        let store = try CollectorStore(path: configuration.database, readOnly: true)
        let values = try store.latestValues()
        let charts = try Self.charts(report, store: store, now: now)
        // The three files are independent renderings of the same facts: made at the same time.
        let host = host
        let rendered = Parallel.map(Rendering.allCases, grain: 1) { rendering -> Data in
            switch rendering {
            case .fleetJSON:
                FleetDocument(report: report, host: host, passMilliseconds: passMilliseconds).encoded()
            case .fleetProm:
                Data(
                    PromText.renderFleet(PromText.Input(report: report, values: values)).utf8)
            case .page:
                Data(HTMLPage.render(HTMLPage.Input(report: report, charts: charts, host: host)).utf8)
            }
        }
        try Directory.create(configuration.publishDir, mode: 0o755)
        try AtomicFile.write(rendered[0], to: configuration.publishDir + "/fleet.json")
        try AtomicFile.write(rendered[1] + Data(pass.utf8), to: configuration.publishDir + "/phc.prom")
        try AtomicFile.write(rendered[2], to: configuration.publishDir + "/index.html")
        try AtomicFile.write(rendered[1], to: cachePath, mode: 0o640)
        return true
    }

    /// What a full publish renders, in the order of `rendered`.
    enum Rendering: CaseIterable, Sendable {
        case fleetJSON, fleetProm, page
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
