extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, carriage returns and newlines.
    ///
    /// Works on the UTF-8 bytes, not on `Character`s: a Windows line end (`"\r\n"`, one
    /// `Character`) is trimmed like `"\n"`, and no grapheme breaking runs. Inlinable so that it
    /// is specialised for `String` and `Substring` where it is called.
    @inlinable
    public func trimmed() -> String {
        let bytes = utf8
        var start = bytes.startIndex
        while start < bytes.endIndex, trimmable(bytes[start]) { start = bytes.index(after: start) }
        // One pass forwards (a StringProtocol's UTF-8 view is not bidirectional): the end is
        // just after the last byte that is kept.
        var end = start
        var index = start
        while index < bytes.endIndex {
            let next = bytes.index(after: index)
            if !trimmable(bytes[index]) { end = next }
            index = next
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// A space, tab, carriage return or newline.
@usableFromInline
func trimmable(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
}
