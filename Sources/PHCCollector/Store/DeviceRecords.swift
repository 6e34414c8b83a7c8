/// Device records by name: an array in the order they were added, with a table of each name's
/// position.
///
/// A pass reads every device's record once or twice (is its folder quiet? which alerts stand?). In
/// the array each can be read where it lies (``record(at:_:)``, ``eachRecord(_:)``); a
/// dictionary's values were copied out, 352 bytes and a reference count on each of their strings,
/// and its buckets held whole records, a third of them unused (5.8 MB for 10,000 devices, against
/// 3.5 MB here, each page a fault when first written).
struct DeviceRecords: Sendable, Equatable {
    /// The records, in the order they were added.
    private(set) var all: [DeviceRecord] = []
    private var positions: [String: Int] = [:]

    init(minimumCapacity: Int = 0) {
        all.reserveCapacity(minimumCapacity)
        positions.reserveCapacity(minimumCapacity)
    }

    var count: Int { all.count }
    var names: Dictionary<String, Int>.Keys { positions.keys }

    /// Where the record of `name` is in ``all``; nil when there is none.
    func position(of name: String) -> Int? { positions[name] }

    /// The same, looked for first at `likely`: records loaded in name order, asked for by folders
    /// listed in name order, are at the folder's own position while the two lists agree, and a
    /// name compared costs less than one hashed.
    func position(of name: String, likely: Int) -> Int? {
        let there = all.withUnsafeBufferPointer { likely >= 0 && likely < $0.count && $0[likely].name == name }
        return there ? likely : positions[name]
    }

    /// Whether a pass finds nothing to read in `folder` and the ledger nothing to change, by the record
    /// at `position`: the same manifest, no standing file problem, the same folder name (legacy files
    /// aside). A provisional folder is good enough to tell.
    func isQuiet(at position: Int, _ folder: DeviceFolder) -> Bool {
        record(at: position) { record in
            if case .some = record.pointee.fileProblem { return false }
            return folder.problem == nil && folder.manifest != nil
                && !folder.manifestChanged(since: record.pointee.manifestStamp)
                && record.pointee.displayName == folder.displayName
        }
    }

    /// `body` with a pointer to the record at `position`, to read it field by field where it lies: a
    /// method of the record, called on the array's element or a buffer's, was handed a copy of all of
    /// it (callgrind: 440 instructions a device). The pointer is valid only in `body`.
    func record<Result>(at position: Int, _ body: (UnsafePointer<DeviceRecord>) -> Result) -> Result {
        precondition(all.indices.contains(position), "no record at \(position)")
        return all.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped + position) }
    }

    /// `body` with a pointer to each record in turn (as ``record(at:_:)``), in the order they were added.
    func eachRecord(_ body: (UnsafePointer<DeviceRecord>) -> Void) {
        all.withUnsafeBufferPointer { records in
            guard let first = records.baseAddress else { return }
            for position in records.indices { body(first + position) }
        }
    }

    /// A copy of the record of `name`; nil when there is none.
    subscript(name: String) -> DeviceRecord? {
        positions[name].map { all[$0] }
    }

    /// Adds `record`, or replaces the record of the same name.
    mutating func put(_ record: consuming DeviceRecord) {
        // One lookup for a new name, the usual case.
        let position = all.count
        if let previous = positions.updateValue(position, forKey: record.name) {
            positions[record.name] = previous
            all[previous] = record
        } else {
            all.append(record)
        }
    }

    /// Changes the record at `position` where it lies. Its name stays: the table of positions
    /// does not follow a record renamed.
    mutating func update(at position: Int, _ change: (inout DeviceRecord) -> Void) {
        let name = all[position].name
        change(&all[position])
        all[position].name = name
    }

    /// The same records by name, whatever the order they were added in.
    static func == (lhs: DeviceRecords, rhs: DeviceRecords) -> Bool {
        lhs.count == rhs.count && lhs.all.allSatisfy { record in rhs[record.name] == record }
    }
}
