internal import CYAML

/// One libyaml event, copied out of the C struct so that nothing of libyaml outlives the call.
enum Event {
    case streamStart
    case streamEnd
    case documentStart(Mark, explicit: Bool)
    case documentEnd(Mark)
    case scalar(Scalar, anchor: String?, tag: String?, Mark, end: Mark)
    case sequenceStart(anchor: String?, tag: String?, Mark, flow: Bool)
    case sequenceEnd(Mark)
    case mappingStart(anchor: String?, tag: String?, Mark, flow: Bool)
    case mappingEnd(Mark)
    case alias(String, Mark, end: Mark)
}

/// Owns one `yaml_parser_t` and the copy of the input it reads; frees both in `deinit`.
///
/// Every libyaml failure becomes a ``YAMLError`` in ``failure()``, right after the call.
final class EventParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let source: SourceText
    private let maxScalarLength: Int

    init(source: SourceText, maxScalarLength: Int) throws(YAMLError) {
        self.source = source
        self.maxScalarLength = maxScalarLength
        parser = .allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else {
            parser.deallocate()
            throw source.error(.syntax, at: .start, "libyaml could not allocate a parser")
        }
        input = .allocate(capacity: max(1, source.bytes.count))
        source.bytes.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress else { return }
            input.baseAddress!.initialize(from: base, count: bytes.count)
        }
        yaml_parser_set_input_string(parser, input.baseAddress, source.bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The next event, or the error that stopped the stream.
    func next() throws(YAMLError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw failure() }
        defer { yaml_event_delete(&event) }
        let mark = Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        let end = Mark(line: Int(event.end_mark.line) + 1, column: Int(event.end_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT: return .streamStart
        case YAML_STREAM_END_EVENT: return .streamEnd
        case YAML_DOCUMENT_START_EVENT: return .documentStart(mark, explicit: event.data.document_start.implicit == 0)
        case YAML_DOCUMENT_END_EVENT: return .documentEnd(end)
        case YAML_ALIAS_EVENT:
            return .alias(string(event.data.alias.anchor) ?? "", mark, end: end)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            guard data.length <= maxScalarLength else {
                throw source.error(
                    .limit, at: mark,
                    "scalar of \(data.length) bytes is longer than the limit of \(maxScalarLength) bytes (maxScalarLength)")
            }
            let value = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            let style: Scalar.Style
            switch data.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            return .scalar(Scalar(value: value, style: style), anchor: string(data.anchor), tag: string(data.tag), mark, end: end)
        case YAML_SEQUENCE_START_EVENT:
            let data = event.data.sequence_start
            return .sequenceStart(anchor: string(data.anchor), tag: string(data.tag), mark, flow: data.style == YAML_FLOW_SEQUENCE_STYLE)
        case YAML_SEQUENCE_END_EVENT: return .sequenceEnd(end)
        case YAML_MAPPING_START_EVENT:
            let data = event.data.mapping_start
            return .mappingStart(anchor: string(data.anchor), tag: string(data.tag), mark, flow: data.style == YAML_FLOW_MAPPING_STYLE)
        case YAML_MAPPING_END_EVENT: return .mappingEnd(end)
        default:
            throw source.error(.syntax, at: mark, "libyaml returned an unknown event")
        }
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    /// The parser's error state as a ``YAMLError``: the one place libyaml errors are read.
    private func failure() -> YAMLError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        switch p.error {
        case YAML_READER_ERROR:
            let mark = source.mark(atOffset: p.problem_offset)
            var message = "invalid encoding: \(problem)"
            if p.problem_value != -1 {
                let hex = String(p.problem_value, radix: 16, uppercase: true)
                message += " (byte 0x\(hex.count < 2 ? "0" + hex : hex))"
            }
            return source.error(.encoding, at: mark, message)
        case YAML_MEMORY_ERROR:
            return source.error(.limit, at: .start, "libyaml ran out of memory")
        default:
            // At the end of input that has no final line break, libyaml moves its mark to a new
            // line, one past the file's last: a position is kept inside the file.
            let end = source.mark(atOffset: Int.max)
            let mark = min(Mark(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1), end)
            if let line = source.line(mark.line), mark.column >= 1,
               line.unicodeScalars.dropFirst(mark.column - 1).first == "\t"
            {
                return source.error(.syntax, at: mark, "found a tab character where YAML allows only spaces; indent with spaces")
            }
            var message = problem
            if let context = p.context.map({ String(cString: $0) }) {
                let contextMark = min(Mark(line: Int(p.context_mark.line) + 1, column: Int(p.context_mark.column) + 1), end)
                message += " \(context)"
                if contextMark != mark { message += " started at \(contextMark)" }
            }
            return source.error(.syntax, at: mark, message)
        }
    }
}
