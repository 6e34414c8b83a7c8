#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    internal import Glibc
#endif
internal import CSQLite
internal import PHCCore

/// A value to bind or read.
enum SQLValue: Equatable {
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
    case null

    static func optional(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    static func optional(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
}

/// Why the database refused. Carries the database path, SQLite's message and its result code,
/// so that a busy database (another process writing) is told apart from a broken one.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// SQLite's extended result code (`SQLITE_BUSY` = 5, `SQLITE_CORRUPT` = 11…); nil for our own errors.
    public var code: Int32?

    public init(path: String, message: String, code: Int32? = nil) {
        self.path = path
        self.message = message
        self.code = code
    }

    /// Another connection holds the lock longer than the busy timeout: try again later.
    public var isBusy: Bool { code.map { $0 & 0xFF == SQLITE_BUSY || $0 & 0xFF == SQLITE_LOCKED } ?? false }

    public var description: String { "database \(path): \(message)" }
}

/// A thin wrapper over the SQLite C API: one connection, prepared statements,
/// transactions. Used from one thread at a time.
final class SQLiteDatabase {
    let path: String
    private var handle: OpaquePointer?
    /// Prepared statements by the length of their text, then the text: a pass asks for the same
    /// few statements hundreds of thousands of times, and hashing a whole statement's text each
    /// time was a tenth of the store's work. (Literals compare by identity first: that is cheap.)
    private var cache: [Int: [(sql: String, statement: Statement)]] = [:]
    /// Open transactions: the outermost is BEGIN IMMEDIATE, inner ones are savepoints.
    private var depth = 0

    /// Opens (creating) the database in WAL mode with a busy timeout, so a
    /// `report` can read while a `run` writes.
    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        handle = db
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            handle = nil
            throw StoreError(path: path, message: message)
        }
        sqlite3_busy_timeout(db, 10_000)
        if !readOnly {
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
            // Pages read through a mapping, not a read(2) each into SQLite's own cache: a pass reads
            // every device's row (a third less time for 10,000, and less memory). The database is
            // the collector's own file in its state folder, which nobody else writes.
            try execute("PRAGMA mmap_size=268435456")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    /// Closes the database. The last connection to close checkpoints the write-ahead log into the
    /// database and deletes it (two to four fsyncs, 3 ms of a 60 ms pass that changed nothing)
    /// unless the log is under ``walKeptOnClose``: then it is left for the next connection, which
    /// reads it back at open. What such a log holds is committed (a crash or `kill -9` loses none
    /// of it) but not yet synced: a power cut may lose those last few passes, which the next pass
    /// redoes from the files, as `synchronous=NORMAL` already allows for any commit.
    deinit {
        cache.removeAll()
        if let handle, let log = try? FileStatus(path: path + "-wal"), log.size < Self.walKeptOnClose {
            _ = csqlite_checkpoint_on_close(handle, 0)
        }
        sqlite3_close_v2(handle)
    }

    /// A write-ahead log smaller than this (a few passes that changed little) is not checkpointed on close.
    static let walKeptOnClose: Int64 = 1 << 20

    func error(_ what: String) -> StoreError {
        StoreError(
            path: path, message: "\(what): \(String(cString: sqlite3_errmsg(handle)))",
            code: sqlite3_extended_errcode(handle))
    }

    /// Runs SQL that returns no rows (several statements allowed).
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(handle, sql, nil, nil, &message) == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw StoreError(path: path, message: text, code: sqlite3_extended_errcode(handle))
        }
    }

    /// A prepared statement, cached by its text.
    func statement(_ sql: String) throws(StoreError) -> Statement {
        let length = sql.utf8.count
        if let cached = cache[length]?.first(where: { $0.sql == sql }) { return cached.statement }
        var raw: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil) == SQLITE_OK,
            let raw
        else { throw error("prepare \(sql.prefix(60))") }
        let statement = Statement(raw, database: self)
        cache[length, default: []].append((sql, statement))
        return statement
    }

    /// Inserts many rows with statements of up to `perStatement` rows each
    /// (`INSERT … VALUES (?,?),(?,?)…`): a pass writes tens of thousands of history rows, and one
    /// statement per row spent more on running statements than on the rows. Each row's values are
    /// bound straight into the statement (an array of values for each row was a third of storing
    /// 80,000 series).
    ///
    /// - Parameters:
    ///   - head: `INSERT [OR IGNORE] INTO table (a, b)`, without `VALUES`.
    ///   - rows: the rows; `values` adds each one's `columns` values, in order.
    ///   - tail: what follows the rows (`ON CONFLICT … DO UPDATE …`), applied to each row.
    func insert<Rows: Collection>(
        _ head: String, columns: Int, rows: Rows, tail: String = "", perStatement: Int = 128,
        values: (Rows.Element, inout Parameters) -> Void
    ) throws(StoreError) {
        let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        func sql(rows count: Int) -> String {
            head + " VALUES " + Array(repeating: tuple, count: count).joined(separator: ",") + " " + tail
        }
        // The text of a full statement is written once: a pass flushes thousands of them.
        let full = rows.count >= perStatement ? sql(rows: perStatement) : ""
        var position = rows.startIndex
        var remaining = rows.count
        while remaining > 0 {
            let count = min(perStatement, remaining)
            var parameters = Parameters(try statement(count == perStatement ? full : sql(rows: count)))
            for _ in 0..<count {
                values(rows[position], &parameters)
                rows.formIndex(after: &position)
            }
            precondition(parameters.count == count * columns, "\(head): \(parameters.count) values for \(count) rows")
            try parameters.run()
            remaining -= count
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: all of it is committed, or none.
    ///
    /// Nested calls become savepoints: an inner failure undoes the inner part only, and
    /// nothing is committed before the outermost transaction is.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        let savepoint = "s\(depth)"
        try execute(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT \(savepoint)")
        depth += 1
        let rollback = depth == 1 ? "ROLLBACK" : "ROLLBACK TO \(savepoint); RELEASE \(savepoint)"
        let value: T
        do {
            value = try body()
        } catch {
            depth -= 1
            try? execute(rollback)
            throw error
        }
        depth -= 1
        do {
            try execute(depth == 0 ? "COMMIT" : "RELEASE \(savepoint)")
        } catch {
            try? execute(rollback)
            throw error
        }
        return value
    }

    /// Rows changed by every statement so far (`sqlite3_total_changes64`).
    var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    var userVersion: Int {
        get {
            (try? statement("PRAGMA user_version").rows([]) { Int($0.int(0)) }.first) ?? 0
        }
    }

    func setUserVersion(_ version: Int) throws(StoreError) {
        try execute("PRAGMA user_version=\(version)")
    }
}

/// A prepared statement. Binding is positional (1-based, in order).
final class Statement {
    private let raw: OpaquePointer
    fileprivate unowned let database: SQLiteDatabase

    init(_ raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
    }

    deinit { sqlite3_finalize(raw) }

    private func bind(_ values: [SQLValue]) throws(StoreError) {
        sqlite3_reset(raw)
        // Parameters left unbound would keep the last run's values. When every one is bound anyway
        // (a bulk insert's hundreds), clearing them first is only work.
        if values.count != Int(sqlite3_bind_parameter_count(raw)) { sqlite3_clear_bindings(raw) }
        for (offset, value) in values.enumerated() {
            guard bind(value, at: Int32(offset + 1)) == SQLITE_OK else { throw database.error("bind") }
        }
    }

    /// Binds one value; SQLite's result code.
    fileprivate func bind(_ value: SQLValue, at index: Int32) -> Int32 {
        switch value {
        case .int(let number): bind(number, at: index)
        case .double(let number): bind(number, at: index)
        case .text(let text): bind(text, at: index)
        // An empty blob is bound as one (a null pointer would bind NULL).
        case .blob(let bytes) where bytes.isEmpty: sqlite3_bind_zeroblob(raw, index, 0)
        case .blob(let bytes):
            bytes.withUnsafeBytes { csqlite_bind_blob(raw, index, $0.baseAddress, Int32(clamping: $0.count)) }
        case .null: sqlite3_bind_null(raw, index)
        }
    }

    /// A native string's own bytes, with their count (SQLite need not look for the end); SQLite copies
    /// them. (An empty one has no bytes to point at, and a null pointer would bind NULL.)
    fileprivate func bind(_ text: String, at index: Int32) -> Int32 {
        guard !text.isEmpty else { return csqlite_bind_text(raw, index, "", 0) }
        var text = text
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                csqlite_bind_text(raw, index, $0.baseAddress!, Int32(clamping: $0.count))
            }
        }
    }

    fileprivate func bind(_ number: Int64, at index: Int32) -> Int32 { sqlite3_bind_int64(raw, index, number) }
    fileprivate func bind(_ number: Double, at index: Int32) -> Int32 { sqlite3_bind_double(raw, index, number) }

    fileprivate func reset() { sqlite3_reset(raw) }

    /// Steps the statement with what is bound, then resets it.
    fileprivate func step() throws(StoreError) {
        defer { sqlite3_reset(raw) }
        let rc = sqlite3_step(raw)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw database.error("step") }
    }

    /// Runs the statement for its effect.
    func run(_ values: [SQLValue]) throws(StoreError) {
        try bind(values)
        try step()
    }

    /// Maps every row.
    func rows<T>(_ values: [SQLValue], _ map: (Row) throws -> T) throws -> [T] {
        var out: [T] = []
        try each(values) { out.append(try map($0)) }
        return out
    }

    /// Calls `body` with every row (to build something other than an array of them).
    func each(_ values: [SQLValue], _ body: (Row) throws -> Void) throws {
        try bind(values)
        defer { sqlite3_reset(raw) }
        while true {
            let rc = sqlite3_step(raw)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw database.error("step") }
            try body(Row(raw: raw))
        }
    }

    /// A view of the current row.
    struct Row {
        let raw: OpaquePointer

        func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
        func text(_ column: Int32) -> String {
            textBytes(column).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        /// The text, or `known` itself when the text is the same: no new string (a record's display
        /// name is usually its name, and most devices run one agent version).
        func text(_ column: Int32, reusing known: String) -> String {
            guard let bytes = textBytes(column) else { return "" }
            var known = known
            return known.withUTF8 { Self.same($0, bytes) } ? known : String(decoding: bytes, as: UTF8.self)
        }
        /// The case whose raw value the text is, nil for NULL or any other text (no string is made).
        func text<Value: RawRepresentable & CaseIterable>(_ column: Int32, as type: Value.Type) -> Value?
        where Value.RawValue == String {
            guard let bytes = textBytes(column) else { return nil }
            return Value.allCases.first { value in
                var name = value.rawValue
                return name.withUTF8 { Self.same($0, bytes) }
            }
        }
        /// The column's text as SQLite holds it, nil for NULL, valid until the statement steps on. With
        /// the length SQLite knows: no strlen (a pass reads hundreds of thousands of these).
        func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
            guard let pointer = sqlite3_column_text(raw, column) else { return nil }
            return UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(raw, column)))
        }
        /// The blob's bytes as SQLite holds them (valid until the next step); nil for NULL or an empty blob.
        func blob(_ column: Int32) -> UnsafeRawBufferPointer? {
            guard let pointer = sqlite3_column_blob(raw, column) else { return nil }
            return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(raw, column)))
        }
        private static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
            a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
        }
        func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
        func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }
        func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }
        func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
    }
}

/// The values of one bulk statement, bound in order as they are added (``SQLiteDatabase/insert(_:columns:rows:tail:perStatement:values:)``).
struct Parameters {
    private let statement: Statement
    /// How many were added.
    private(set) var count: Int32 = 0
    private var failed = false

    /// Every parameter of `statement` is to be added (the last run's would stay otherwise).
    fileprivate init(_ statement: Statement) {
        self.statement = statement
        statement.reset()
    }

    mutating func add(_ value: SQLValue) { note(statement.bind(value, at: count + 1)) }
    mutating func add(_ text: String) { note(statement.bind(text, at: count + 1)) }
    mutating func add(_ number: Int64) { note(statement.bind(number, at: count + 1)) }
    mutating func add(_ number: Double) { note(statement.bind(number, at: count + 1)) }

    private mutating func note(_ rc: Int32) {
        count += 1
        failed = failed || rc != SQLITE_OK
    }

    /// Runs the statement once with every value added.
    fileprivate func run() throws(StoreError) {
        guard !failed else { throw statement.database.error("bind") }
        try statement.step()
    }
}
