/// One node of a parsed YAML document, with the position it was written at.
///
/// Aliases are resolved while parsing: an alias becomes a copy of the node its anchor names.
/// Copies share storage, so a document full of aliases costs memory in proportion to what
/// was written, not to what it expands to; ``YAMLLimits/aliasExpansionRatio`` bounds what a
/// walk over the tree may cost. Merge keys (`<<`) are applied while parsing as well.
public struct Node: Sendable {
    /// What a node holds.
    public enum Content: Sendable {
        /// A scalar: its text and the style it was written in.
        case scalar(Scalar)
        /// A sequence, in order.
        case sequence([Node])
        /// A mapping, in the order its keys were written. Keys are unique scalars.
        case mapping([Pair])
    }

    /// The node's content.
    public var content: Content
    /// The explicit tag, resolved to its full form (`tag:yaml.org,2002:str` for `!!str`);
    /// `nil` when the node had none.
    public var tag: String?
    /// Where the node starts in the source.
    public var mark: Mark
    /// Where the node ends: just past its last character (for an alias, past the alias).
    public var endMark: Mark
    /// Whether a sequence or mapping was written in flow style (`[a, b]`, `{k: v}`).
    public var isFlow: Bool
    /// How many nodes a full walk of this node visits, counting an alias as a copy.
    /// Saturates instead of overflowing.
    var weight: Int

    init(_ content: Content, tag: String?, mark: Mark, endMark: Mark, isFlow: Bool = false, weight: Int) {
        self.content = content
        self.tag = tag
        self.mark = mark
        self.endMark = endMark
        self.isFlow = isFlow
        self.weight = weight
    }

    /// The scalar, when this node is one.
    public var scalar: Scalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    /// The mapping's pairs, when this node is a mapping.
    public var pairs: [Pair]? {
        if case .mapping(let p) = content { return p }
        return nil
    }

    /// The value for a scalar key of a mapping; `nil` when this is not a mapping or has no such key.
    public subscript(key: String) -> Node? {
        pairs?.first { $0.key.scalar?.value == key }?.value
    }

    /// The key node for a scalar key of a mapping, to point at the key rather than its value.
    public func keyNode(_ key: String) -> Node? {
        pairs?.first { $0.key.scalar?.value == key }?.key
    }

    /// A short description of the node's kind for error messages: "a mapping", "the string \"x\"".
    var kindDescription: String {
        switch content {
        case .sequence: return "a sequence"
        case .mapping: return "a mapping"
        case .scalar(let s):
            if s.isNull && tag == nil { return "null" }
            let shown = s.value.count > 40 ? String(s.value.prefix(40)) + "…" : s.value
            return "\"\(shown)\""
        }
    }
}

/// A key and its value in a mapping.
public struct Pair: Sendable {
    /// The key node (always a scalar).
    public var key: Node
    /// The value node.
    public var value: Node
}

/// A scalar's text and how it was written.
public struct Scalar: Sendable, Hashable {
    /// How a scalar was written. Only plain scalars are resolved to null, booleans or
    /// numbers; every quoted or block scalar is a string.
    public enum Style: Sendable, Hashable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// The scalar's text after YAML's escaping and folding.
    public var value: String
    /// How it was written.
    public var style: Style

    /// Whether this is a plain `null`, `Null`, `NULL`, `~` or an empty plain scalar: the
    /// null of the YAML 1.2 core schema.
    public var isNull: Bool {
        style == .plain && ["", "~", "null", "Null", "NULL"].contains(value)
    }
}
