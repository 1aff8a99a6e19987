import YAML

/// Durations as operators write them: `30s`, `10m`, `1h`, `1h30m`, `500ms`.
public enum DurationText {
    /// Parses a sequence of whole numbers each followed by a unit (`ms`, `s`, `m`, `h`);
    /// `nil` when the text is not of that form.
    public static func parse(_ text: String) -> Duration? {
        var total = Duration.zero
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix(while: { $0.isLetter })
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3_600)
            default: return nil
            }
        }
        return total
    }

    /// The shortest text that ``parse(_:)`` reads back as the same duration.
    public static func format(_ duration: Duration) -> String {
        var ms = duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms == 0 { return "0s" }
        var text = ""
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1_000), ("ms", 1)] where ms >= size {
            text += "\(ms / size)\(unit)"
            ms %= size
        }
        return text
    }
}

/// A duration field of the configuration, checked where it is written.
struct DurationValue: Decodable {
    var value: Duration
    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = DurationText.parse(text), value > .zero else {
            throw DecodingProblem("invalid duration \"\(text)\": use a number and a unit, like 500ms, 30s, 10m, 1h or 1h30m")
        }
        self.value = value
    }
}

/// A size field of the configuration: a number of bytes, or a number with `KiB` or `MiB`.
struct ByteSize: Decodable {
    var value: Int
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bytes = try? container.decode(Int.self) {
            value = bytes
        } else {
            let text = try container.decode(String.self)
            let number = text.prefix(while: { $0.isASCII && $0.isNumber })
            let scale: Int? = switch text.dropFirst(number.count) {
            case "KiB": 1 << 10
            case "MiB": 1 << 20
            case "": 1
            default: nil
            }
            guard let scale, let n = Int(number), n <= Int.max / scale else {
                throw DecodingProblem("invalid size \"\(text)\": use a number of bytes, or a number with KiB or MiB")
            }
            value = n * scale
        }
        guard value > 0 else { throw DecodingProblem("a size must be positive") }
    }
}
