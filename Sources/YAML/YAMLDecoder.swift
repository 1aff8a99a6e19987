/// Decodes `Decodable` values from parsed YAML, driven by the schema of the type.
///
/// The type decides what a scalar means (YAML 1.2 core schema): a `String` field takes any
/// scalar as written, so `no`, `on` and `007` stay the strings they look like; an `Int` field
/// takes a plain integer; a `Bool` field takes `true` or `false`. Quoted scalars are always
/// strings. Every key of a mapping must be asked for by the type: an unknown key is an error
/// at its position, as is a missing required key, a wrong type or a ``DecodingProblem``
/// thrown by the type itself.
public struct YAMLDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes a value from a document's root.
    ///
    /// - Throws: ``YAMLError`` with the file, line and column of the offending node.
    public func decode<T: Decodable>(_ type: T.Type, from document: YAMLDocument) throws(YAMLError) -> T {
        try decode(type, from: document.root, in: document)
    }

    /// Decodes a value from any node of a document (for instance one field of the root).
    ///
    /// - Throws: ``YAMLError`` with the file, line and column of the offending node.
    public func decode<T: Decodable>(_ type: T.Type, from node: Node, in document: YAMLDocument) throws(YAMLError) -> T {
        let decoder = NodeDecoder(node: node, source: document.source, codingPath: [])
        do {
            return try decoder.decodeValue(type, node: node, codingPath: [])
        } catch let error as YAMLError {
            throw error
        } catch {
            throw document.source.error(.invalidValue, at: node.mark, String(describing: error))
        }
    }
}

/// Throw this from a type's `init(from:)` to report a broken rule at the node being decoded,
/// or at one of its keys or values; the decoder turns it into a ``YAMLError`` with the right
/// position and field path.
public struct DecodingProblem: Error, Sendable {
    /// Where a problem points.
    public enum Position: Sendable {
        /// The node being decoded.
        case node
        /// A key of the mapping being decoded (a key that should not be there, a bad name).
        case key(String)
        /// The value of a key of the mapping being decoded.
        case value(String)
    }

    /// What is wrong, without the field path (the decoder prefixes it).
    public var message: String
    /// Where it points.
    public var position: Position
    /// The kind of problem.
    public var code: YAMLError.Code

    /// Creates a problem.
    public init(_ message: String, at position: Position = .node, code: YAMLError.Code = .invalidValue) {
        self.message = message
        self.position = position
        self.code = code
    }
}

/// A coding key for sequence positions.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "[\(intValue ?? 0)]" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

/// A field path as people write it: `spec.indexes.vector`, `items[2].name`.
func fieldPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if key is IndexKey {
            text += key.stringValue
        } else {
            text += text.isEmpty ? key.stringValue : "." + key.stringValue
        }
    }
    return text
}

private let coreTags: Set<String> = [
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
]

/// The `Decoder` for one node. Records which keys its type asked for, so that the keys it
/// did not are reported as unknown once the type's `init(from:)` returns.
final class NodeDecoder: Decoder {
    let node: Node
    let source: SourceText
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// The keys asked for, once a keyed container was made.
    var usedKeys: Set<String>?
    /// Decoders of nested containers, checked with this one.
    var nested: [NodeDecoder] = []

    init(node: Node, source: SourceText, codingPath: [any CodingKey]) {
        self.node = node
        self.source = source
        self.codingPath = codingPath
    }

    /// Decodes `T` from `node`, turning every error into a ``YAMLError`` at the right place,
    /// then rejects the keys `T` did not ask for.
    func decodeValue<T: Decodable>(_ type: T.Type, node: Node, codingPath: [any CodingKey]) throws -> T {
        if let tag = node.tag, !coreTags.contains(tag) {
            throw error(.typeMismatch, at: node.mark, path: codingPath, "unsupported tag \(tag)")
        }
        let child = NodeDecoder(node: node, source: source, codingPath: codingPath)
        let value: T
        do {
            value = try T(from: child)
        } catch let e as YAMLError {
            throw e
        } catch let problem as DecodingProblem {
            switch problem.position {
            case .key(let key) where node.keyNode(key) != nil:
                throw error(problem.code, at: node.keyNode(key)!.mark, path: codingPath + [AnyKey(key)], problem.message)
            case .value(let key) where node[key] != nil:
                throw error(problem.code, at: node[key]!.mark, path: codingPath + [AnyKey(key)], problem.message)
            default:
                throw error(problem.code, at: node.mark, path: codingPath, problem.message)
            }
        } catch let e as DecodingError {
            throw error(.invalidValue, at: node.mark, path: codingPath, Self.describe(e))
        }
        try child.checkUnknownKeys()
        return value
    }

    func checkUnknownKeys() throws(YAMLError) {
        if let usedKeys, let pairs = node.pairs {
            for pair in pairs {
                let name = pair.key.scalar?.value ?? ""
                if !usedKeys.contains(name) {
                    let path = fieldPath(codingPath + [AnyKey(name)])
                    throw source.error(.unknownField, at: pair.key.mark, "unknown field \"\(path)\"")
                }
            }
        }
        for child in nested { try child.checkUnknownKeys() }
    }

    func error(_ code: YAMLError.Code, at mark: Mark, path: [any CodingKey], _ message: String) -> YAMLError {
        let where_ = fieldPath(path)
        return source.error(code, at: mark, where_.isEmpty ? message : "\(where_): \(message)")
    }

    func mismatch(_ expected: String, _ node: Node, path: [any CodingKey]) -> YAMLError {
        var found = node.kindDescription
        if let s = node.scalar, s.style != .plain { found = "the string " + found }
        return error(.typeMismatch, at: node.mark, path: path, "expected \(expected), found \(found)")
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            return c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let pairs = node.pairs else { throw mismatch("a mapping", node, path: codingPath) }
        if usedKeys == nil { usedKeys = [] }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, pairs: pairs))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .sequence(let items) = node.content else { throw mismatch("a sequence", node, path: codingPath) }
        return UnkeyedContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(decoder: self)
    }
}

/// A coding key made from any string, for paths and dictionary keys.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let pairs: [Pair]
    let values: [String: Node]

    init(decoder: NodeDecoder, pairs: [Pair]) {
        self.decoder = decoder
        self.pairs = pairs
        var values: [String: Node] = [:]
        for pair in pairs { values[pair.key.scalar?.value ?? ""] = pair.value }
        self.values = values
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { pairs.compactMap { Key(stringValue: $0.key.scalar?.value ?? "") } }

    private func value(_ key: Key) -> Node? {
        decoder.usedKeys?.insert(key.stringValue)
        return values[key.stringValue]
    }

    private func required(_ key: Key) throws -> Node {
        guard let node = value(key) else {
            let path = fieldPath(codingPath + [key])
            throw decoder.source.error(.missingField, at: decoder.node.mark, "missing required field \"\(path)\"")
        }
        return node
    }

    func contains(_ key: Key) -> Bool { value(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        let node = try required(key)
        return node.scalar?.isNull == true && (node.tag == nil || node.tag == "tag:yaml.org,2002:null")
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.decodeValue(type, node: required(key), codingPath: codingPath + [key])
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = value(key) else { return nil }
        if node.scalar?.isNull == true, node.tag == nil || node.tag == "tag:yaml.org,2002:null" { return nil }
        return try decoder.decodeValue(type, node: node, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let child = NodeDecoder(node: try required(key), source: decoder.source, codingPath: codingPath + [key])
        decoder.nested.append(child)
        return try child.container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let child = NodeDecoder(node: try required(key), source: decoder.source, codingPath: codingPath + [key])
        return try child.unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        decoder
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let child = NodeDecoder(node: try required(key), source: decoder.source, codingPath: codingPath + [key])
        decoder.nested.append(child)
        return child
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [Node]
    var currentIndex = 0

    init(decoder: NodeDecoder, items: [Node]) {
        self.decoder = decoder
        self.items = items
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func nextNode() throws -> (Node, [any CodingKey]) {
        guard !isAtEnd else {
            throw decoder.error(.typeMismatch, at: decoder.node.mark, path: codingPath, "expected more items in the sequence")
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].scalar?.isNull == true, items[currentIndex].tag == nil else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (node, path) = try nextNode()
        return try decoder.decodeValue(type, node: node, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (node, path) = try nextNode()
        let child = NodeDecoder(node: node, source: decoder.source, codingPath: path)
        decoder.nested.append(child)
        return try child.container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (node, path) = try nextNode()
        return try NodeDecoder(node: node, source: decoder.source, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (node, path) = try nextNode()
        let child = NodeDecoder(node: node, source: decoder.source, codingPath: path)
        decoder.nested.append(child)
        return child
    }
}

/// Scalars resolved by the type asked for, after the YAML 1.2 core schema.
private struct SingleValueContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    private var node: Node { decoder.node }

    private func tagged(_ name: String) -> Bool { node.tag == "tag:yaml.org,2002:" + name }
    private var untaggedPlain: Bool { node.tag == nil && node.scalar?.style == .plain }

    func decodeNil() -> Bool {
        guard let scalar = node.scalar else { return false }
        return tagged("null") || (node.tag == nil && scalar.isNull)
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        if let s = node.scalar, untaggedPlain || tagged("bool") {
            if ["true", "True", "TRUE"].contains(s.value) { return true }
            if ["false", "False", "FALSE"].contains(s.value) { return false }
        }
        throw decoder.mismatch("a boolean (true or false)", node, path: codingPath)
    }

    func decode(_ type: String.Type) throws -> String {
        guard let s = node.scalar, !decodeNil() || tagged("str") else {
            throw decoder.mismatch("a string", node, path: codingPath)
        }
        return s.value
    }

    func decode(_ type: Double.Type) throws -> Double {
        if let s = node.scalar, untaggedPlain || tagged("float") || tagged("int"), let d = Self.coreFloat(s.value) { return d }
        throw decoder.mismatch("a number", node, path: codingPath)
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decoder.decodeValue(type, node: node, codingPath: codingPath)
    }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let s = node.scalar, untaggedPlain || tagged("int") else {
            throw decoder.mismatch("an integer", node, path: codingPath)
        }
        guard let wide = Self.coreInteger(s.value) else {
            throw decoder.mismatch("an integer", node, path: codingPath)
        }
        guard let value = T(exactly: wide) else {
            throw decoder.error(.invalidValue, at: node.mark, path: codingPath, "\(s.value) is out of range (\(T.min)...\(T.max))")
        }
        return value
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`, as the core schema has them.
    private static func coreInteger(_ text: String) -> Int64? {
        if text.hasPrefix("0x") { return Int64(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0o") { return Int64(text.dropFirst(2), radix: 8) }
        var digits = Substring(text)
        if digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.first != "+", digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-") }) else { return nil }
        return Int64(digits, radix: 10)
    }

    private static func coreFloat(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        if let i = coreInteger(text) { return Double(i) }
        let allowed = Set("0123456789+-.eE")
        guard !text.isEmpty, text.allSatisfy({ allowed.contains($0) }), text.contains(where: \.isNumber) else { return nil }
        return Double(text)
    }
}
