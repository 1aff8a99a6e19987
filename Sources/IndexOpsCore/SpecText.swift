/// The text of a new spec file declaring one document, in the one format every command that
/// declares a document writes (`indexops create`, `indexops import`): double-quoted strings,
/// two-space indentation, `indexes` sorted by type.
public enum SpecText {
    /// A spec declaring `id`.
    ///
    /// - Parameter indexes: the desired state of each index type; `nil` leaves `indexes` out
    ///   (every configured type, present).
    public static func declaration(
        id: String, user: String, collection: String?, source: Source, indexes: [String: DesiredState]?
    ) -> String {
        var text = "apiVersion: indexops/v1\nkind: DocumentIndex\nmetadata:\n  name: \(quoted(id))\n"
        if let collection { text += "  collection: \(quoted(collection))\n" }
        text += "  createdBy: \(quoted(user))\nspec:\n"
        switch source {
        case .uri(let uri, let revision):
            text += "  source:\n    uri: \(quoted(uri))\n"
            if let revision { text += "    revision: \(quoted(revision))\n" }
        case .path(let path):
            text += "  source: \(quoted(path))\n"
        }
        if let indexes {
            text += "  indexes:\n"
            for type in indexes.keys.sorted() { text += "    \(type): \(indexes[type]!.rawValue)\n" }
        }
        return text
    }

    /// A YAML double-quoted scalar.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
