/// One document of a YAML stream: its root node and where it starts.
public struct YAMLDocument: Sendable {
    /// The root node. An empty document has a null scalar as its root.
    public let root: Node
    /// Where the document starts (its `---`, or its first node).
    public let mark: Mark
    /// Where the document ends: the start of the next `---`, a `...`, or the end of the input.
    public let endMark: Mark
    /// Whether the document starts with an explicit `---`.
    public let explicitStart: Bool
    /// Its 1-based position in the stream.
    public let index: Int
    let source: SourceText

    /// The file the document was read from, as the caller named it.
    public var file: String { source.file }

    /// Whether the document holds nothing but a null: an empty document, skipped by loaders.
    public var isEmpty: Bool {
        root.scalar?.isNull == true && root.tag == nil
    }
}

/// The documents of one YAML source, read through libyaml with ``YAMLLimits`` enforced.
///
/// Reading stops at the first error: the documents that ended before it are kept in
/// ``documents`` (so one bad document does not hide the good ones before it), the one it
/// interrupted and everything after are not, and ``error`` says what and where.
public struct YAMLStream: Sendable {
    /// The file name used in errors.
    public let file: String
    /// Every document that was read completely, in order.
    public private(set) var documents: [YAMLDocument] = []
    /// The error that stopped reading, or `nil` when the whole stream was read.
    public private(set) var error: YAMLError?

    /// Reads a stream. Never throws: a problem ends up in ``error``.
    ///
    /// - Parameters:
    ///   - bytes: the source, UTF-8 (UTF-16 with a byte-order mark is accepted too).
    ///   - file: the name to put in errors.
    ///   - limits: the limits to enforce while reading.
    public init(parsing bytes: [UInt8], file: String, limits: YAMLLimits = .default) {
        self.file = file
        let source = SourceText(file: file, bytes: bytes)
        guard bytes.count <= limits.maxFileSize else {
            error = YAMLError.fileTooLarge(file: file, size: bytes.count, limits: limits)
            error?.sourceLine = source.line(1)
            return
        }
        do {
            var builder = TreeBuilder(source: source, limits: limits)
            let parser = try EventParser(source: source, maxScalarLength: limits.maxScalarLength)
            while true {
                let event = try parser.next()
                if case .streamEnd = event { break }
                if let document = try builder.consume(event) { documents.append(document) }
            }
        } catch let e {
            error = e
        }
    }

    /// Reads a stream from a string. See ``init(parsing:file:limits:)``.
    public init(parsing text: String, file: String, limits: YAMLLimits = .default) {
        self.init(parsing: Array(text.utf8), file: file, limits: limits)
    }
}

/// Turns events into nodes with an explicit stack (no recursion, whatever the depth), applying
/// the depth, document, alias and duplicate-key rules as each event arrives.
struct TreeBuilder {
    private struct Frame {
        var isMapping: Bool
        var isFlow: Bool
        var anchor: String?
        var tag: String?
        var mark: Mark
        var items: [Node] = []
        var pairs: [Pair] = []
        var keyMarks: [String: Mark] = [:]
        var merges: [Node] = []
        var pendingKey: Node?
    }

    let source: SourceText
    let limits: YAMLLimits
    private var stack: [Frame] = []
    private var anchors: [String: Node] = [:]
    private var openAnchors: [String: Int] = [:]
    private var documentCount = 0
    private var documentMark = Mark.start
    private var documentExplicit = false
    private var root: Node?
    private var written = 0
    private var expanded = 0
    private var firstExcess: Mark?

    init(source: SourceText, limits: YAMLLimits) {
        self.source = source
        self.limits = limits
    }

    /// Takes one event; returns a document when the event ends one.
    mutating func consume(_ event: Event) throws(YAMLError) -> YAMLDocument? {
        switch event {
        case .streamStart, .streamEnd:
            return nil
        case .documentStart(let mark, let explicit):
            documentExplicit = explicit
            documentCount += 1
            guard documentCount <= limits.maxDocuments else {
                throw source.error(
                    .limit, at: mark, "more than \(limits.maxDocuments) documents in one file (maxDocuments)")
            }
            documentMark = mark
            anchors = [:]
            openAnchors = [:]
            root = nil
            written = 0
            expanded = 0
            firstExcess = nil
            return nil
        case .documentEnd(let end):
            let allowed = max(limits.aliasExpansionFloor, Self.multiply(limits.aliasExpansionRatio, written))
            if expanded > allowed {
                throw source.error(
                    .limit, at: firstExcess ?? documentMark,
                    "document expands through aliases to more than \(allowed) nodes, \(limits.aliasExpansionRatio) times the \(written) it has (aliasExpansionRatio)")
            }
            let node = root ?? Node(.scalar(Scalar(value: "", style: .plain)), tag: nil, mark: documentMark, endMark: documentMark, weight: 1)
            return YAMLDocument(root: node, mark: documentMark, endMark: end, explicitStart: documentExplicit, index: documentCount, source: source)
        case .scalar(let scalar, let anchor, let tag, let mark, let end):
            count(written: 1, expanded: 1, at: mark)
            try add(Node(.scalar(scalar), tag: tag, mark: mark, endMark: end, weight: 1), anchor: anchor)
        case .sequenceStart(let anchor, let tag, let mark, let flow), .mappingStart(let anchor, let tag, let mark, let flow):
            guard stack.count < limits.maxDepth else {
                throw source.error(.limit, at: mark, "nesting is deeper than \(limits.maxDepth) levels (maxDepth)")
            }
            count(written: 1, expanded: 1, at: mark)
            var isMapping = false
            if case .mappingStart = event { isMapping = true }
            stack.append(Frame(isMapping: isMapping, isFlow: flow, anchor: anchor, tag: tag, mark: mark))
            if let anchor { openAnchors[anchor, default: 0] += 1 }
        case .sequenceEnd(let end):
            let frame = stack.removeLast()
            closeAnchor(frame.anchor)
            let weight = frame.items.reduce(1) { Self.add($0, $1.weight) }
            try add(Node(.sequence(frame.items), tag: frame.tag, mark: frame.mark, endMark: end, isFlow: frame.isFlow, weight: weight),
                    anchor: frame.anchor)
        case .mappingEnd(let end):
            let frame = stack.removeLast()
            closeAnchor(frame.anchor)
            let pairs = try merged(frame)
            let weight = pairs.reduce(1) { Self.add($0, Self.add($1.key.weight, $1.value.weight)) }
            try add(Node(.mapping(pairs), tag: frame.tag, mark: frame.mark, endMark: end, isFlow: frame.isFlow, weight: weight),
                    anchor: frame.anchor)
        case .alias(let name, let mark, _):
            if openAnchors[name, default: 0] > 0 {
                throw source.error(.alias, at: mark, "alias *\(name) refers to a node that contains it (a recursive alias)")
            }
            guard let target = anchors[name] else {
                throw source.error(.alias, at: mark, "alias *\(name) refers to no anchor &\(name) before it")
            }
            count(written: 1, expanded: target.weight, at: mark)
            try add(target, anchor: nil)
        }
        return nil
    }

    private mutating func count(written w: Int, expanded e: Int, at mark: Mark) {
        written += w
        expanded = Self.add(expanded, e)
        if firstExcess == nil,
           expanded > max(limits.aliasExpansionFloor, Self.multiply(limits.aliasExpansionRatio, written))
        {
            firstExcess = mark
        }
    }

    private mutating func closeAnchor(_ anchor: String?) {
        guard let anchor else { return }
        openAnchors[anchor, default: 1] -= 1
    }

    /// Places a finished node in its parent (or as the document's root) and records its anchor.
    private mutating func add(_ node: Node, anchor: String?) throws(YAMLError) {
        if let anchor { anchors[anchor] = node }
        guard !stack.isEmpty else {
            root = node
            return
        }
        let top = stack.count - 1
        guard stack[top].isMapping else {
            stack[top].items.append(node)
            return
        }
        guard let key = stack[top].pendingKey else {
            guard let scalar = node.scalar else {
                throw source.error(.syntax, at: node.mark, "mapping keys must be scalars, not \(node.kindDescription)")
            }
            if Self.isMergeKey(node) {
                stack[top].pendingKey = node
                return
            }
            if let first = stack[top].keyMarks[scalar.value] {
                throw source.error(.duplicateKey, at: node.mark, "duplicate key \"\(scalar.value)\" (first at \(first))")
            }
            stack[top].keyMarks[scalar.value] = node.mark
            stack[top].pendingKey = node
            return
        }
        stack[top].pendingKey = nil
        if Self.isMergeKey(key) {
            stack[top].merges.append(node)
        } else {
            stack[top].pairs.append(Pair(key: key, value: node))
        }
    }

    /// The mapping's own pairs followed by the pairs its `<<` keys merge in, where a key
    /// written in the mapping wins over a merged one, and an earlier merged mapping over a later.
    private func merged(_ frame: Frame) throws(YAMLError) -> [Pair] {
        guard !frame.merges.isEmpty else { return frame.pairs }
        var pairs = frame.pairs
        var seen = Set(frame.keyMarks.keys)
        for value in frame.merges {
            let sources: [Node]
            switch value.content {
            case .mapping: sources = [value]
            case .sequence(let items): sources = items
            case .scalar: sources = [value]
            }
            for source in sources {
                guard let sourcePairs = source.pairs else {
                    throw self.source.error(
                        .typeMismatch, at: source.mark,
                        "a merge key (<<) takes a mapping or a sequence of mappings, not \(source.kindDescription)")
                }
                for pair in sourcePairs where seen.insert(pair.key.scalar?.value ?? "").inserted {
                    pairs.append(pair)
                }
            }
        }
        return pairs
    }

    private static func isMergeKey(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.value == "<<" else { return false }
        return (scalar.style == .plain && node.tag == nil) || node.tag == "tag:yaml.org,2002:merge"
    }

    static func add(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }

    static func multiply(_ a: Int, _ b: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? .max : product
    }
}
