import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCCollector

@Suite("SQLite database")
struct SQLiteDatabaseTests {
    @Test("a small write-ahead log is left on close and read back by the next open; a large one is checkpointed away")
    func logKeptOnlyWhenSmall() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("db.sqlite")
        let log = path + "-wal"
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute("CREATE TABLE t (v BLOB)")
            try database.execute("INSERT INTO t VALUES (x'01')")
        }
        let kept = try FileStatus(path: log)
        #expect(kept.size > 0 && kept.size < SQLiteDatabase.walKeptOnClose, "kept: \(kept.size) bytes")
        do {
            let database = try SQLiteDatabase(path: path)
            #expect(try database.statement("SELECT count(*) FROM t").rows([]) { $0.int(0) } == [1], "read back")
            // More than the limit in one transaction: the log passes it, so this close checkpoints.
            try database.transaction {
                let insert = try database.statement("INSERT INTO t VALUES (?)")
                for _ in 0..<64 { try insert.run([.blob([UInt8](repeating: 7, count: 32 * 1024))]) }
            }
            #expect(try FileStatus(path: log).size >= SQLiteDatabase.walKeptOnClose)
        }
        #expect(!FileStatus.exists(log), "checkpointed and removed")
        let reopened = try SQLiteDatabase(path: path, readOnly: true)
        #expect(try reopened.statement("SELECT count(*) FROM t").rows([]) { $0.int(0) } == [65])
    }
}
