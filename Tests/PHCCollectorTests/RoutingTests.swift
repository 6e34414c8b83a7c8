import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

/// The pure stages of delivery: evaluation by manifests, inhibition, silences, routing and grouping.
@Suite("Alert rules, routing and grouping")
struct RoutingTests {
    static func alert(
        _ name: AlertName = .checkFailing, device: String = "armitage", check: String? = "gpu:0",
        severity: CheckStatus = .crit, state: AlertState = .firing, at time: Int64 = 1000, resolvedAt: Int64? = nil
    ) -> AlertRecord {
        AlertRecord(
            key: AlertKey(name: name, device: device, checkID: check), severity: severity, state: state, count: 2,
            startedAt: time, firedAt: time, resolvedAt: resolvedAt, summary: "\(check ?? name.rawValue) is hot",
            updatedAt: time)
    }

    static func routed(_ records: [AlertRecord]) -> [RoutedAlert] {
        records.map { RoutedAlert(notice: AlertNotice($0)) }
    }

    func router(_ routes: [RouteConfiguration], kinds: [String: ReceiverConfiguration.Kind] = [:], at now: Int64)
        -> Router
    {
        var all = kinds
        for route in routes where all[route.receiver] == nil { all[route.receiver] = .discord }
        return Router(routes: routes, kinds: all, heartbeat: nil, host: "motoko", now: now)
    }

    @Test("failure_threshold counts manifests: three passes over one bad manifest do not page; two manifests do")
    func thresholdByManifests() {
        var existing: [AlertRecord] = []
        func pass(_ sequence: Int64?, at now: Int64, recovery: Int = 1) -> AlertEvaluator.Changes {
            let conditions =
                sequence.map {
                    [
                        AlertCondition(
                            name: .checkFailing, device: "armitage", checkID: "gpu:0", severity: .crit, summary: "hot",
                            evidence: $0)
                    ]
                } ?? []
            let changes = AlertEvaluator.evaluate(
                conditions: conditions, existing: existing, failureThreshold: 2, recoveryThreshold: recovery,
                progress: ["armitage": sequence ?? 0], now: now)
            existing =
                existing.filter { alert in
                    !changes.delete.contains(alert.key) && !changes.save.contains { $0.key == alert.key }
                } + changes.save
            return changes
        }
        #expect(pass(7, at: 100).save.map(\.state) == [.pending])
        // The same manifest again: the alert stands as it was, and is not written again.
        for now in [160, 220] as [Int64] { #expect(pass(7, at: now) == AlertEvaluator.Changes()) }
        #expect(
            existing.map(\.state) == [.pending] && existing.map(\.count) == [1] && existing.map(\.updatedAt) == [100])
        #expect(pass(8, at: 280).save.map(\.state) == [.firing], "the second bad manifest fires it")
        // recovery_threshold 2: one good manifest is not enough, the same one read twice counts once.
        var progress: Int64 = 9
        func good(at now: Int64) -> AlertEvaluator.Changes {
            let changes = AlertEvaluator.evaluate(
                conditions: [], existing: existing, failureThreshold: 2, recoveryThreshold: 2,
                progress: ["armitage": progress], now: now)
            existing = existing.filter { alert in !changes.save.contains { $0.key == alert.key } } + changes.save
            return changes
        }
        #expect(good(at: 340).save.map(\.state) == [.firing])
        #expect(good(at: 400) == AlertEvaluator.Changes(), "the same good manifest again: nothing changes")
        #expect(existing.map(\.state) == [.firing] && existing.map(\.recoveries) == [1])
        progress = 10
        #expect(good(at: 460).save.map(\.state) == [.resolved])
    }

    @Test("a silent device's CheckFailing and a warn under a crit of the same check are inhibited")
    func inhibition() {
        let alerts = [
            Self.alert(device: "armitage"), Self.alert(.deviceSilent, device: "armitage", check: nil),
            Self.alert(device: "motoko"),
        ]
        let covered = Inhibition.inhibited(alerts, silentDevices: ["armitage"])
        #expect(covered == [alerts[0].key])
    }

    @Test("silences match every matcher, for their time only")
    func silences() {
        let silence = AlertSilence(
            id: "s1", matchers: ["device": "armitage", "alertname": "CheckFailing"], startsAt: 100, endsAt: 200,
            comment: "maintenance", author: "mdt")
        let labels = AlertNotice(Self.alert()).labels
        #expect(silence.matches(labels) && silence.isActive(at: 150))
        #expect(!silence.isActive(at: 200) && !silence.isActive(at: 99))
        #expect(!silence.matches(AlertNotice(Self.alert(device: "motoko")).labels))
    }

    @Test("group_wait, then repeat; nothing in between while nothing changes")
    func groupTiming() {
        var route = RouteConfiguration(receiver: "discord")
        route.groupWait = .seconds(30)
        route.groupInterval = .seconds(300)
        route.repeatInterval = .seconds(4 * 3600)
        var groups: [String: GroupState] = [:]
        func pass(_ alerts: [AlertRecord], at now: Int64) -> [AlertNotification] {
            let outcome = router([route], at: now).route(Self.routed(alerts), groups: groups)
            for key in outcome.delete { groups[key] = nil }
            for group in outcome.save { groups[group.key] = group }
            return outcome.notifications
        }
        let firing = [Self.alert()]
        #expect(pass(firing, at: 1000).isEmpty, "group_wait")
        let first = pass(firing, at: 1030)
        #expect(first.count == 1 && first[0].alerts.count == 1 && first[0].status == .firing)
        #expect(first[0].groupLabels == ["alertname": "CheckFailing", "device": "armitage"])
        #expect(pass(firing, at: 1090).isEmpty && pass(firing, at: 1030 + 3600).isEmpty, "unchanged: no repeat yet")
        #expect(pass(firing, at: 1030 + 4 * 3600).count == 1, "repeat after 4 h")
        // A second alert in the group: told at the next group_interval, both in one message.
        let two = firing + [Self.alert(check: "gpu:1")]
        #expect(pass(two, at: 1030 + 4 * 3600 + 60).isEmpty)
        let update = pass(two, at: 1030 + 4 * 3600 + 300)
        #expect(update.count == 1 && update[0].alerts.count == 2)
        // Resolved: announced (send_resolved) with a real end, then the group is gone.
        let resolved = [
            Self.alert(state: .resolved, resolvedAt: 20_000),
            Self.alert(check: "gpu:1", state: .resolved, resolvedAt: 20_000),
        ]
        let notice = pass(resolved, at: 20_000)
        #expect(
            notice.count == 1 && notice[0].status == .resolved && notice[0].alerts.allSatisfy { $0.endsAt == 20_000 })
        #expect(groups.isEmpty)
        #expect(pass(resolved, at: 30_000).isEmpty)
    }

    @Test("an alert that resolves before group_wait ends is never announced; group_wait 0s sends at once")
    func blips() {
        var route = RouteConfiguration(receiver: "discord")
        route.groupWait = .seconds(30)
        let first = router([route], at: 1000).route(Self.routed([Self.alert()]), groups: [:])
        #expect(first.notifications.isEmpty && first.save.count == 1)
        let groups = Dictionary(uniqueKeysWithValues: first.save.map { ($0.key, $0) })
        let gone = router([route], at: 1010).route(
            Self.routed([Self.alert(state: .resolved, resolvedAt: 1010)]), groups: groups)
        #expect(gone.notifications.isEmpty && gone.delete == Array(groups.keys))
        route.groupWait = .zero
        #expect(router([route], at: 1000).route(Self.routed([Self.alert()]), groups: [:]).notifications.count == 1)
    }

    @Test("sixty alerts grouped by alertname make one notification; routes match in order, continue goes on")
    func groupingAndRoutes() {
        var byName = RouteConfiguration(receiver: "discord", match: ["severity": ["warn", "crit"]])
        byName.groupBy = ["alertname"]
        byName.groupWait = .zero
        byName.continue = true
        var am = RouteConfiguration(receiver: "am")
        am.groupWait = .zero
        let pager = RouteConfiguration(receiver: "pager")  // after a route without continue: never reached
        let alerts = (0..<60).map { Self.alert(device: "dev\($0)") }
        let outcome = router([byName, am, pager], kinds: ["am": .alertmanager], at: 1000).route(
            Self.routed(alerts), groups: [:])
        let discord = outcome.notifications.filter { $0.receiver == "discord" }
        #expect(
            discord.count == 1 && discord[0].alerts.count == 60
                && discord[0].groupLabels == ["alertname": "CheckFailing"])
        let manager = outcome.notifications.filter { $0.receiver == "am" }
        #expect(manager.count == 1 && manager[0].alerts.count == 60 && manager[0].kind == .alertmanager)
        #expect(!outcome.notifications.contains { $0.receiver == "pager" })
        // Matchers: a value list means any of them; a missing label matches nothing.
        #expect(Router.matches(byName, ["severity": "warn"]) && !Router.matches(byName, ["severity": "none"]))
        #expect(!Router.matches(byName, [:]))
    }

    @Test("silenced and inhibited alerts are not sent; an Alertmanager is told every pass and once when resolved")
    func alertmanagerAndHolds() {
        var route = RouteConfiguration(receiver: "am")
        route.groupWait = .zero
        let router = Router(routes: [route], kinds: ["am": .alertmanager], heartbeat: "am", host: "motoko", now: 1000)
        var alerts = Self.routed([Self.alert(), Self.alert(device: "motoko"), Self.alert(device: "wintermute")])
        alerts[1].silenced = true
        alerts[2].inhibited = true
        let first = router.route(alerts, groups: [:])
        let batch = first.notifications.filter { $0.kind == .alertmanager }
        #expect(batch.count == 1 && batch[0].alerts.map { $0.labels["device"] } == ["armitage"])
        #expect(
            first.notifications.filter { $0.kind == .heartbeat }.first?.alerts.first?.labels["alertname"] == "Watchdog")
        let groups = Dictionary(uniqueKeysWithValues: first.save.map { ($0.key, $0) })
        let again = router.route(Self.routed([Self.alert(state: .resolved, resolvedAt: 1060)]), groups: groups)
        #expect(again.notifications.filter { $0.kind == .alertmanager }.first?.alerts.first?.status == .resolved)
        let saved = Dictionary(uniqueKeysWithValues: again.save.map { ($0.key, $0) })
        let done = router.route(Self.routed([Self.alert(state: .resolved, resolvedAt: 1060)]), groups: saved)
        #expect(done.notifications.filter { $0.kind == .alertmanager }.isEmpty, "resolved is said once")
    }
}

/// The ledger's rules, directly: they are pure.
@Suite("Ledger rules")
struct LedgerTests {
    static func verified(_ sequence: Int64, digest: String = "d") throws -> VerifiedManifest {
        let manifest = Manifest(
            device: "armitage", agent: AgentInfo(version: "1", os: "x", kernel: "y"), sequence: sequence,
            issuedAt: Timestamp(secondsSinceEpoch: 1000), expiresAt: Timestamp(secondsSinceEpoch: 1180), intervalS: 60,
            bootID: "b", checks: [])
        return VerifiedManifest(manifest: try ManifestHead.decode(manifest.encoded()), keyID: "k", digest: digest)
    }

    @Test("the sequence rule: newer is accepted, the same is nothing, older is a replay (history from a backlog)")
    func sequenceRule() throws {
        let ledger = Ledger(now: 1000, skewLimit: 300)
        var record = DeviceRecord(name: "armitage", displayName: "armitage")
        #expect(ledger.decide(try Self.verified(5), source: .manifest, record: record) == .accept)
        record.lastSequence = 5
        record.payloadDigest = "d"
        #expect(ledger.decide(try Self.verified(6), source: .manifest, record: record) == .accept)
        #expect(ledger.decide(try Self.verified(5), source: .manifest, record: record) == .unchanged)
        if case .refuse(let reason) = ledger.decide(
            try Self.verified(5, digest: "other"), source: .manifest, record: record)
        {
            #expect(reason.contains("already accepted with other content"))
        } else {
            Issue.record("same sequence, other content: refused")
        }
        if case .refuse(let reason) = ledger.decide(try Self.verified(4), source: .manifest, record: record) {
            #expect(reason == "sequence 4 is older than the last accepted 5 (replayed or rolled back)")
        } else {
            Issue.record("older: refused")
        }
        #expect(ledger.decide(try Self.verified(4), source: .backlog, record: record) == .late)
    }

    @Test("the skew rule: far from the file's time, or ahead of now, saturating for absurd times")
    func skewRule() {
        let ledger = Ledger(now: 10_000, skewLimit: 300)
        #expect(ledger.skew(issued: 10_000, fileTime: 10_010) == 0)
        #expect(ledger.skew(issued: 10_000, fileTime: 9_000) == 1000)
        #expect(ledger.skew(issued: 11_000, fileTime: 11_000) == 1000)
        #expect(ledger.skew(issued: 10_000, fileTime: .max) == Int64(10_000) - .max)
        #expect(ledger.skew(issued: .max, fileTime: .min) == .max)
        #expect(ledger.isFuture(10_301) && !ledger.isFuture(10_300) && ledger.isFuture(.max))
    }
}
