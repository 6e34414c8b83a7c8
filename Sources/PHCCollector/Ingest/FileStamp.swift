#if canImport(Glibc)
    internal import Glibc
#endif

/// What tells one version of a file from another: its inode, size and modification time, as
/// `stat` reports them. The numbers come from the share's file system and may be anything (the
/// year 2300, a negative size): they are compared and written, never computed with.
///
/// Stored as its ``description``, `inode:size:seconds.nanoseconds`; a pass compares ten thousand
/// of these as numbers, without a string for each.
struct FileStamp: Hashable, Sendable, CustomStringConvertible {
    var inode: UInt64
    var size: Int64
    var seconds: Int64
    var nanoseconds: Int64

    init(inode: UInt64, size: Int64, seconds: Int64, nanoseconds: Int64) {
        (self.inode, self.size, self.seconds, self.nanoseconds) = (inode, size, seconds, nanoseconds)
    }

    init(_ info: stat) {
        self.init(
            inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: Int64(info.st_mtim.tv_sec),
            nanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    /// `inode:size:seconds.nanoseconds`, written digit by digit into one buffer.
    var description: String {
        String(unsafeUninitializedCapacity: 4 * 20 + 4) { buffer in
            var end = 0
            func put(_ value: UInt64) {
                var length = 1
                var rest = value / 10
                while rest > 0 {
                    length += 1
                    rest /= 10
                }
                rest = value
                for position in (end..<end + length).reversed() {
                    buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                end += length
            }
            func put(_ value: Int64) {
                if value < 0 {
                    buffer[end] = UInt8(ascii: "-")
                    end += 1
                }
                put(value.magnitude)
            }
            put(inode)
            buffer[end] = UInt8(ascii: ":")
            end += 1
            put(size)
            buffer[end] = UInt8(ascii: ":")
            end += 1
            put(seconds)
            buffer[end] = UInt8(ascii: ".")
            end += 1
            put(nanoseconds)
            return end
        }
    }

    /// The stamp whose ``description`` `text` is. Nil for any other text, another spelling of the
    /// same numbers included (`01`, `-0`, `+1`): a stored text and a stamp are equal exactly when
    /// their texts are, so that a text from an older or damaged database only means "changed".
    init?(_ text: String) {
        var text = text
        guard let stamp = text.withUTF8(Self.parse) else { return nil }
        self = stamp
    }

    /// ``init(_:)`` on the bytes of a text (a column as SQLite holds it: no string made for it).
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> FileStamp? {
        var at = 0
        guard let inode = number(text, &at, signed: false, then: UInt8(ascii: ":")),
            let size = signed(number(text, &at, signed: true, then: UInt8(ascii: ":"))),
            let seconds = signed(number(text, &at, signed: true, then: UInt8(ascii: "."))),
            let nanoseconds = signed(number(text, &at, signed: true, then: nil))
        else { return nil }
        return FileStamp(inode: inode.magnitude, size: size, seconds: seconds, nanoseconds: nanoseconds)
    }

    /// The number written at `at` (digits, no leading zero, a minus first where `signed`) and the
    /// byte after it (`then`, or the end of the text), or nil; `at` moves past both.
    private static func number(_ text: UnsafeBufferPointer<UInt8>, _ at: inout Int, signed: Bool, then: UInt8?)
        -> (negative: Bool, magnitude: UInt64)?
    {
        var index = at
        let negative = signed && index < text.count && text[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let first = index
        var magnitude: UInt64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            // More than 64 bits cannot be how a stamp was written: no trap, no stamp.
            let (times, over) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(digit))
            guard !over, !carry else { return nil }
            magnitude = sum
            index += 1
        }
        guard index > first, index == first + 1 || text[first] != UInt8(ascii: "0"), !(negative && magnitude == 0)
        else { return nil }
        if let then {
            guard index < text.count, text[index] == then else { return nil }
            index += 1
        } else if index != text.count {
            return nil
        }
        at = index
        return (negative, magnitude)
    }

    /// The signed value of a number read, nil when it does not fit in 64 bits (or was not read).
    private static func signed(_ number: (negative: Bool, magnitude: UInt64)?) -> Int64? {
        guard let (negative, magnitude) = number else { return nil }
        if !negative { return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil }
        // The most negative number is one more than the largest.
        return magnitude <= UInt64(Int64.max) + 1 ? Int64(bitPattern: 0 &- magnitude) : nil
    }
}
