import YAML

/// A change to one document of a spec file.
public enum SpecEdit: Sendable, Hashable {
    /// Sets `metadata.annotations[key]` to a quoted string.
    case setAnnotation(String, String)
    /// Sets `spec.indexes[type]` for each type given (others are left as they are).
    case setIndexStates([String: DesiredState])
    /// Removes the document from its file (the file itself when it is the only one).
    case removeDocument
}

/// Why a spec file cannot be edited safely.
public struct SpecEditError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One line: the file, the line and what to do.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Edits one document of a hand-written spec file in place: only that document's lines
/// change; every comment and every other document stay byte for byte.
///
/// Edits are splices at the positions the parser reports. Each result is parsed again and
/// checked (the edited document says what was asked, the others are unchanged); where an
/// edit cannot be made that way (a multi-line value, an alias), it is refused with the file
/// and line to edit by hand.
public enum SpecEditor {
    /// Applies `edit` to document `id` of a spec file.
    ///
    /// - Returns: the new content, or `nil` when the file should be removed (its only
    ///   document was removed).
    /// - Throws: ``SpecEditError`` when the document is not in the file or cannot be edited safely.
    public static func apply(_ edit: SpecEdit, toDocument id: String, in bytes: [UInt8], path: String) throws(SpecEditError) -> [UInt8]? {
        let before = SpecFile(path: path, bytes: bytes)
        let stream = YAMLStream(parsing: bytes, file: path)
        guard stream.error == nil, !before.hasErrors else {
            throw SpecEditError("\(path) has errors; fix them first (indexops validate \(path))")
        }
        let documents = stream.documents.filter { !$0.isEmpty }
        guard let document = documents.first(where: { $0.root["metadata"]?["name"]?.scalar?.value == id }),
              let original = before.resources.first(where: { $0.index.id == id })?.index
        else { throw SpecEditError("document \"\(id)\" is not declared in \(path)") }
        var lines = Lines(bytes)
        let refuse = SpecEditError("cannot edit \(path) safely; change document \"\(id)\" at line \(document.root.mark.line) by hand")

        var expected = original
        switch edit {
        case .removeDocument:
            guard documents.count > 1 else { return nil }
            try remove(document, all: stream.documents, from: &lines, refuse: refuse)
        case .setAnnotation(let key, let value):
            guard let metadata = document.root["metadata"] else { throw refuse }
            try set([key: "\"\(value)\""], in: metadata, child: "annotations", lines: &lines, refuse: refuse)
            expected.metadata.annotations[key] = value
        case .setIndexStates(let states):
            guard let spec = document.root["spec"] else { throw refuse }
            try set(states.mapValues(\.rawValue), in: spec, child: "indexes", lines: &lines, refuse: refuse)
            var indexes = original.spec.indexes ?? [:]
            indexes.merge(states) { $1 }
            expected.spec.indexes = indexes
        }

        let result = lines.bytes
        // Every line outside the edited document is the same, byte for byte.
        let old = Lines(bytes).raw
        let new = lines.raw
        let first = (document.explicitStart ? document.mark.line : document.root.mark.line) - 1
        let next = documents.first { $0.index > document.index }
        var tail = next.map { old.count - ($0.mark.line - 1) } ?? 0
        if case .removeDocument = edit, !document.explicitStart, let next { tail = old.count - next.mark.line }
        guard first <= new.count, tail <= new.count - first, new.prefix(first) == old.prefix(first),
              new.suffix(tail) == old.suffix(tail) else { throw refuse }
        let after = SpecFile(path: path, bytes: result)
        var wanted = before.resources.map(\.index)
        if case .removeDocument = edit {
            wanted.removeAll { $0.id == id }
        } else if let i = wanted.firstIndex(where: { $0.id == id }) {
            wanted[i] = expected
        }
        guard !after.hasErrors, after.resources.map(\.index) == wanted else { throw refuse }
        return result
    }

    /// Sets keys of the mapping `parent[child]`: replaces values in place, adds lines for new
    /// keys, or adds the whole mapping under `parent`.
    private static func set(_ values: [String: String], in parent: Node, child: String, lines: inout Lines, refuse: SpecEditError) throws(SpecEditError) {
        guard let parentPairs = parent.pairs, !parent.isFlow, let firstKey = parentPairs.first?.key else { throw refuse }
        guard let mapping = parent[child] else {
            let indent = String(repeating: " ", count: firstKey.mark.column - 1)
            var added = ["\(indent)\(child):"]
            for key in values.keys.sorted() { added.append("\(indent)  \(key): \(values[key]!)") }
            lines.insert(added, after: lastLine(of: parentPairs.last!))
            return
        }
        guard let pairs = mapping.pairs else { throw refuse }
        if mapping.isFlow {
            // A one-line flow mapping is written again whole, keeping each untouched pair's text.
            guard mapping.mark.line == mapping.endMark.line else { throw refuse }
            var parts: [String] = []
            var remaining = values
            for pair in pairs {
                guard let key = pair.key.scalar?.value, pair.key.mark.line == mapping.mark.line,
                      pair.value.endMark.line == mapping.mark.line else { throw refuse }
                if let value = remaining.removeValue(forKey: key) {
                    parts.append("\(lines.text(line: pair.key.mark.line, from: pair.key.mark.column, to: pair.key.endMark.column)): \(value)")
                } else {
                    parts.append(lines.text(line: pair.key.mark.line, from: pair.key.mark.column, to: pair.value.endMark.column))
                }
            }
            for key in remaining.keys.sorted() { parts.append("\(key): \(remaining[key]!)") }
            lines.replace(line: mapping.mark.line, from: mapping.mark.column, to: mapping.endMark.column, with: "{ \(parts.joined(separator: ", ")) }")
            return
        }
        guard let first = pairs.first else { throw refuse }
        var added: [String] = []
        for key in values.keys.sorted() {
            if let pair = pairs.first(where: { $0.key.scalar?.value == key }) {
                let value = pair.value
                guard value.scalar != nil, value.mark.line == value.endMark.line, value.mark > pair.key.mark else { throw refuse }
                lines.replace(line: value.mark.line, from: value.mark.column, to: value.endMark.column, with: values[key]!)
            } else {
                added.append(String(repeating: " ", count: first.key.mark.column - 1) + "\(key): \(values[key]!)")
            }
        }
        if !added.isEmpty { lines.insert(added, after: lastLine(of: pairs.last!)) }
    }

    /// The last line a pair's text occupies: where its last scalar ends. (The end mark of a
    /// block collection is the next token, often on a later line.)
    private static func lastLine(of pair: Pair) -> Int {
        max(lastLine(of: pair.key), lastLine(of: pair.value))
    }

    private static func lastLine(of node: Node) -> Int {
        switch node.content {
        case .scalar:
            return node.endMark.column == 1 && node.endMark.line > node.mark.line ? node.endMark.line - 1 : node.endMark.line
        case .sequence(let items):
            if node.isFlow { return node.endMark.line }
            return items.map { lastLine(of: $0) }.max() ?? node.mark.line
        case .mapping(let pairs):
            if node.isFlow { return node.endMark.line }
            return pairs.map { lastLine(of: $0) }.max() ?? node.mark.line
        }
    }

    /// Removes a document's lines: from its `---` (or first line) to the next document's
    /// `---`; a first document without `---` takes the next one's `---` with it.
    private static func remove(_ document: YAMLDocument, all: [YAMLDocument], from lines: inout Lines, refuse: SpecEditError) throws(SpecEditError) {
        guard let position = all.firstIndex(where: { $0.index == document.index }) else { throw refuse }
        let start = document.explicitStart ? document.mark.line : document.root.mark.line
        if position + 1 < all.count {
            let next = all[position + 1]
            guard next.explicitStart else { throw refuse }
            let end = document.explicitStart ? next.mark.line - 1 : next.mark.line
            lines.remove(from: start, through: end)
        } else {
            lines.remove(from: start, through: lines.count)
        }
    }
}

/// A file as lines, each with its own line ending, edited by 1-based line and column
/// (columns in Unicode scalars, as marks count them).
struct Lines {
    private var items: [(text: String, ending: String)]
    private let newline: String

    init(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        var items: [(String, String)] = []
        var current = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        var pendingCR = false
        while let s = scalars.next() {
            if pendingCR {
                pendingCR = false
                if s == "\n" {
                    items.append((String(current), "\r\n"))
                    current = String.UnicodeScalarView()
                    continue
                }
                items.append((String(current), "\r"))
                current = String.UnicodeScalarView()
            }
            if s == "\r" { pendingCR = true; continue }
            if s == "\n" {
                items.append((String(current), "\n"))
                current = String.UnicodeScalarView()
                continue
            }
            current.append(s)
        }
        if pendingCR { items.append((String(current), "\r")); current = String.UnicodeScalarView() }
        if !current.isEmpty { items.append((String(current), "")) }
        self.items = items
        newline = items.first(where: { !$0.1.isEmpty })?.1 ?? "\n"
    }

    var count: Int { items.count }

    /// Each line with its ending, as in the file.
    var raw: [String] { items.map { $0.text + $0.ending } }

    var bytes: [UInt8] { Array(items.map { $0.text + $0.ending }.joined().utf8) }

    func text(line: Int, from start: Int, to end: Int) -> String {
        let scalars = Array(items[line - 1].text.unicodeScalars)
        return String(String.UnicodeScalarView(scalars[(start - 1)..<min(end - 1, scalars.count)]))
    }

    mutating func replace(line: Int, from start: Int, to end: Int, with replacement: String) {
        let scalars = Array(items[line - 1].text.unicodeScalars)
        var text = String.UnicodeScalarView(scalars[..<(start - 1)])
        text.append(contentsOf: replacement.unicodeScalars)
        text.append(contentsOf: scalars[min(end - 1, scalars.count)...])
        items[line - 1].text = String(text)
    }

    mutating func insert(_ new: [String], after line: Int) {
        if line >= 1, items[line - 1].ending.isEmpty { items[line - 1].ending = newline }
        items.insert(contentsOf: new.map { ($0, newline) }, at: line)
    }

    mutating func remove(from start: Int, through end: Int) {
        guard start <= end, start >= 1 else { return }
        items.removeSubrange((start - 1)..<min(end, items.count))
    }
}
