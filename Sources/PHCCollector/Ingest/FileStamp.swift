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
    init?(_ text: some Collection<UInt8>) {
        var (inode, size, seconds): (UInt64, Int64, Int64) = (0, 0, 0)
        var number = 0
        var field = Field()
        for byte in text {
            if number < 3 && byte == (number < 2 ? UInt8(ascii: ":") : UInt8(ascii: ".")) {
                switch number {
                case 0:
                    guard let value = field.unsigned else { return nil }
                    inode = value
                case 1:
                    guard let value = field.signed else { return nil }
                    size = value
                default:
                    guard let value = field.signed else { return nil }
                    seconds = value
                }
                number += 1
                field = Field()
            } else if !field.add(byte, signAllowed: number > 0) {
                return nil
            }
        }
        guard number == 3, let nanoseconds = field.signed else { return nil }
        self.init(inode: inode, size: size, seconds: seconds, nanoseconds: nanoseconds)
    }

    /// One number of the text as it is read: digits, no leading zero, an optional minus first.
    private struct Field {
        var negative = false
        var digits = 0
        var magnitude: UInt64 = 0
        var overflowed = false

        /// Whether `byte` may come next; a number too large for 64 bits is noted, not trapped on.
        mutating func add(_ byte: UInt8, signAllowed: Bool) -> Bool {
            if byte == UInt8(ascii: "-") {
                guard signAllowed, !negative, digits == 0 else { return false }
                negative = true
                return true
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), !(digits == 1 && magnitude == 0) else {
                return false
            }
            let (times, over1) = magnitude.multipliedReportingOverflow(by: 10)
            let (plus, over2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            overflowed = overflowed || over1 || over2
            magnitude = plus
            digits += 1
            return true
        }

        var unsigned: UInt64? { digits > 0 && !negative && !overflowed ? magnitude : nil }

        var signed: Int64? {
            guard digits > 0, !overflowed else { return nil }
            if !negative { return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil }
            // "-0" is not how zero is written; the most negative number is one more than the largest.
            guard magnitude > 0, magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return Int64(bitPattern: 0 &- magnitude)
        }
    }
}
