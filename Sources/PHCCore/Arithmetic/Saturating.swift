/// Arithmetic on numbers that came from outside (file times, `issued_at`,
/// sequence numbers, sizes): it saturates at the ends of `Int64` instead of
/// trapping, so a hostile value can give a wrong-looking answer but never stop
/// the process. Comparisons against sane limits then refuse such values with
/// a reason.
extension Int64 {
    /// `self + other`, clamped to `Int64.min…Int64.max`.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, clamped to `Int64.min…Int64.max`.
    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }

    /// `self * other`, clamped to `Int64.min…Int64.max`.
    public func saturatingMultiply(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }

    /// `|self|`, with `|Int64.min|` clamped to `Int64.max`.
    public var saturatingMagnitude: Int64 {
        self == .min ? .max : Swift.abs(self)
    }
}

extension Int64 {
    /// `value` rounded towards zero, clamped to `Int64`'s range; NaN is 0. For numbers parsed from
    /// command output, metrics pages, markers and JSON, where `1e300`, `inf` and `nan` can appear and
    /// `Int64(_:)` would trap.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 0x1p63 {  // 2^63: the first Double past Int64.max
            self = .max
        } else if value <= -0x1p63 {
            self = .min
        } else {
            self = Int64(value)
        }
    }
}

extension Int {
    /// As ``Swift/Int64/init(saturating:)``.
    public init(saturating value: Double) {
        self = Int(Int64(saturating: value))
    }
}
