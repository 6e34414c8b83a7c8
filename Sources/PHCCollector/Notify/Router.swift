internal import PHCCore

/// A route's group of alerts as it stands between passes: what its receiver was last told, and when.
struct GroupState: Codable, Sendable, Equatable {
    /// `route|receiver|labels`, or `am|receiver` for an Alertmanager receiver.
    var key: String
    var receiver: String
    var route: Int
    var labels: [String: String]
    var firstSeenAt: Int64
    var lastNotifiedAt: Int64?
    /// Fingerprints the last notification announced as firing.
    var notified: Set<String>
}

/// An alert on its way to the router, with what keeps it from being sent.
struct RoutedAlert: Sendable, Equatable {
    var notice: AlertNotice
    /// A silence matches it: shown, not sent.
    var silenced = false
    /// Another alert covers it (its device is silent; a crit alert of the same check): shown, not sent.
    var inhibited = false
}

/// Routing and grouping, as Alertmanager does them, over passes: pure.
///
/// Alerts go through the routes in order; a route takes an alert when every matcher names one of
/// the alert's values for that label, and the first route that takes it wins unless the route
/// says `continue`. For Discord, Slack and webhook receivers, a route's alerts are grouped by
/// `group_by`; a new group is announced `group_wait` after its first alert (an alert that resolves
/// before then is never announced), a group that changed (alerts firing or resolved) is told again
/// once `group_interval` has passed since its last notification, and an unchanged group with
/// firing alerts is told again every `repeat`. An Alertmanager receiver is given every alert, every
/// pass (it groups, routes and silences itself). Silenced and inhibited alerts are never sent.
struct Router: Sendable {
    var routes: [RouteConfiguration]
    var kinds: [String: ReceiverConfiguration.Kind]
    var heartbeat: String?
    var host: String
    var now: Int64

    struct Outcome: Sendable, Equatable {
        var notifications: [AlertNotification] = []
        var save: [GroupState] = []
        var delete: [String] = []
    }

    /// Whether `route` takes an alert with `labels`.
    static func matches(_ route: RouteConfiguration, _ labels: [String: String]) -> Bool {
        route.match.allSatisfy { label, values in labels[label].map(values.contains) ?? false }
    }

    /// The receivers (route indexes) an alert goes to.
    func destinations(_ labels: [String: String]) -> [(route: Int, receiver: String)] {
        var found: [(Int, String)] = []
        for (index, route) in routes.enumerated() where Self.matches(route, labels) {
            found.append((index, route.receiver))
            if !route.continue { break }
        }
        return found
    }

    func route(_ alerts: [RoutedAlert], groups existing: [String: GroupState]) -> Outcome {
        var outcome = Outcome()
        var members: [String: (route: Int, receiver: String, labels: [String: String], alerts: [AlertNotice])] = [:]
        for alert in alerts where !alert.silenced && !alert.inhibited {
            for (index, receiver) in destinations(alert.notice.labels) {
                let key: String
                var labels: [String: String] = [:]
                if kinds[receiver] == .alertmanager {
                    key = "am|\(receiver)"
                } else {
                    let groupBy = routes[index].groupBy
                    labels =
                        groupBy.contains("...")
                        ? alert.notice.labels : alert.notice.labels.filter { groupBy.contains($0.key) }
                    key = "\(index)|\(receiver)|" + AlertNotification.groupKey(route: index, labels: labels)
                }
                members[key, default: (index, receiver, labels, [])].alerts.append(alert.notice)
            }
        }
        for key in Set(members.keys).union(existing.keys).sorted() {
            let member = members[key]
            var state = existing[key]
            if let current = state, current.route >= routes.count || routes[current.route].receiver != current.receiver
            {
                state = nil  // the routes were edited: this group is no longer theirs
                outcome.delete.append(key)
            }
            let receiver = member?.receiver ?? state?.receiver ?? ""
            let alerts = (member?.alerts ?? []).sorted { $0.fingerprint < $1.fingerprint }
            let firing = alerts.filter { $0.status == .firing }
            let announced = state?.notified ?? []
            let resolved = alerts.filter { $0.status == .resolved && announced.contains($0.fingerprint) }
            if key.hasPrefix("am|") {
                guard !firing.isEmpty || !resolved.isEmpty else {
                    if state != nil { outcome.delete.append(key) }
                    continue
                }
                outcome.notifications.append(
                    notification(
                        .alertmanager, receiver: receiver, groupKey: key, labels: [:], alerts: firing + resolved))
                outcome.save.append(
                    GroupState(
                        key: key, receiver: receiver, route: member?.route ?? state?.route ?? 0, labels: [:],
                        firstSeenAt: state?.firstSeenAt ?? now, lastNotifiedAt: now,
                        notified: Set(firing.map(\.fingerprint))))
                continue
            }
            guard let index = member?.route ?? state?.route, index < routes.count else { continue }
            let route = routes[index]
            let labels = member?.labels ?? state?.labels ?? [:]
            var group =
                state
                ?? GroupState(
                    key: key, receiver: receiver, route: index, labels: labels, firstSeenAt: now,
                    lastNotifiedAt: nil, notified: [])
            let groupKey = AlertNotification.groupKey(route: index, labels: labels)
            func send(_ alerts: [AlertNotice]) {
                outcome.notifications.append(
                    notification(.group, receiver: receiver, groupKey: groupKey, labels: labels, alerts: alerts))
                group.lastNotifiedAt = now
                group.notified = Set(firing.map(\.fingerprint))
            }
            guard let last = group.lastNotifiedAt else {
                // Never announced: after group_wait, if anything still fires.
                if firing.isEmpty {
                    if state != nil { outcome.delete.append(key) }
                    continue
                }
                if now >= group.firstSeenAt.saturatingAdd(route.groupWait.wholeSeconds) { send(firing) }
                outcome.save.append(group)
                continue
            }
            let toResolve = route.sendResolved ? resolved : []
            let changed = Set(firing.map(\.fingerprint)) != group.notified || !toResolve.isEmpty
            if changed, !(firing.isEmpty && toResolve.isEmpty),
                now >= last.saturatingAdd(route.groupInterval.wholeSeconds)
            {
                send(firing + toResolve)
            } else if !changed, !firing.isEmpty, now >= last.saturatingAdd(route.repeatInterval.wholeSeconds) {
                send(firing)
            }
            if firing.isEmpty && (group.lastNotifiedAt == now || toResolve.isEmpty) {
                outcome.delete.append(key)
            } else if group != state {
                outcome.save.append(group)
            }
        }
        if let heartbeat, kinds[heartbeat] != nil {
            outcome.notifications.append(
                notification(
                    .heartbeat, receiver: heartbeat, groupKey: "{}:{alertname=\"Watchdog\"}",
                    labels: ["alertname": "Watchdog"], alerts: [AlertNotice.watchdog(host: host, since: now)]))
        }
        outcome.delete = Array(Set(outcome.delete).subtracting(outcome.save.map(\.key))).sorted()
        return outcome
    }

    private func notification(
        _ kind: AlertNotification.Kind, receiver: String, groupKey: String, labels: [String: String],
        alerts: [AlertNotice]
    ) -> AlertNotification {
        AlertNotification(
            id: AlertNotification.newID(), receiver: receiver, kind: kind, groupKey: groupKey, groupLabels: labels,
            alerts: alerts, createdAt: now)
    }
}

extension Duration {
    /// Whole seconds (durations of configuration: never negative).
    var wholeSeconds: Int64 { milliseconds / 1000 }
}
