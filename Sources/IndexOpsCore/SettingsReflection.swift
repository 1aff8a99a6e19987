/// Every setting of a configuration value, found by reflection, so that code that must see
/// *all* settings (the configuration's fingerprint, the search for passwords in URLs) needs no
/// list that someone has to remember to extend.
///
/// A value is walked with `Mirror`: structs, classes and tuples by their stored properties in
/// declaration order; optionals as their wrapped value or `nil`; arrays by index; dictionaries
/// and sets by key, sorted, so that the walk is the same in every process. Strings, numbers,
/// booleans, durations and enums are the leaves.
public enum SettingsReflection {
    /// One setting: where it is (`repository.url`, `indexTypes["graph"].env["TOKEN"]`,
    /// `indexTypes["graph"].command[0]`) and its value.
    public struct Leaf: Sendable, Hashable {
        /// The path of the setting.
        public var path: String
        /// The value, written unambiguously (`String(reflecting:)`: strings quoted and escaped).
        public var text: String
        /// The value itself when it is a string.
        public var string: String?
    }

    /// The leaves of `value`, in a stable order. A collection also yields a leaf of its own
    /// (`path#count`), so that an empty collection and a missing one differ.
    public static func leaves(of value: Any) -> [Leaf] {
        var out: [Leaf] = []
        walk(value, path: "", into: &out)
        return out
    }

    /// `path` with every dictionary key and array index replaced by `[*]`: the shape of a
    /// setting, the same for each index type or variable.
    public static func shape(_ path: String) -> String {
        var out = ""
        var depth = 0
        var inString = false
        var escaped = false
        for c in path {
            if depth > 0 {
                if inString {
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                    continue
                }
                if c == "\"" { inString = true; continue }
                if c == "]" { depth -= 1; if depth == 0 { out += "[*]" } }
                continue
            }
            if c == "[" { depth += 1; continue }
            out.append(c)
        }
        return out
    }

    private static func walk(_ value: Any, path: String, into out: inout [Leaf]) {
        switch value {
        case let s as String:
            out.append(Leaf(path: path, text: String(reflecting: s), string: s))
            return
        case let d as Duration:
            out.append(Leaf(path: path, text: "\(d.components.seconds)s+\(d.components.attoseconds)as", string: nil))
            return
        case is Int, is Int64, is Int32, is UInt, is UInt64, is UInt32, is Double, is Float, is Bool:
            out.append(Leaf(path: path, text: String(reflecting: value), string: nil))
            return
        default:
            break
        }
        let mirror = Mirror(reflecting: value)
        func child(_ label: String) -> String { path.isEmpty ? label : path + "." + label }
        switch mirror.displayStyle {
        case .optional:
            if let wrapped = mirror.children.first?.value {
                walk(wrapped, path: path, into: &out)
            } else {
                out.append(Leaf(path: path, text: "nil", string: nil))
            }
        case .collection:
            out.append(Leaf(path: path + "#count", text: String(mirror.children.count), string: nil))
            for (index, element) in mirror.children.enumerated() { walk(element.value, path: path + "[\(index)]", into: &out) }
        case .dictionary:
            out.append(Leaf(path: path + "#count", text: String(mirror.children.count), string: nil))
            let pairs = mirror.children.map { pair -> (key: String, value: Any) in
                let parts = Array(Mirror(reflecting: pair.value).children)
                return (String(reflecting: parts[0].value), parts[1].value)
            }
            for pair in pairs.sorted(by: { $0.key < $1.key }) { walk(pair.value, path: path + "[\(pair.key)]", into: &out) }
        case .set:
            out.append(Leaf(path: path + "#count", text: String(mirror.children.count), string: nil))
            let elements = mirror.children.map { (String(reflecting: $0.value), $0.value) }.sorted { $0.0 < $1.0 }
            for (key, element) in elements { walk(element, path: path + "[\(key)]", into: &out) }
        case .enum:
            // A case and its payload, if any.
            out.append(Leaf(path: path, text: String(reflecting: value), string: nil))
        case .struct, .class, .tuple:
            guard !mirror.children.isEmpty else {
                out.append(Leaf(path: path, text: String(reflecting: value), string: nil))
                return
            }
            for (index, element) in mirror.children.enumerated() {
                walk(element.value, path: child(element.label ?? String(index)), into: &out)
            }
        default:
            out.append(Leaf(path: path, text: String(reflecting: value), string: nil))
        }
    }
}
