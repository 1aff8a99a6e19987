internal import CGit2

extension Repository {
    /// A value of the repository's git configuration (with the global and system files
    /// under it, as `git config` reads them), or `nil` when it is not set.
    public func configValue(_ key: String) throws -> String? {
        var config: OpaquePointer?
        try call("git_repository_config_snapshot") { git_repository_config_snapshot(&config, pointer) }
        let owned = ConfigHandle(config!)
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let status = git_config_get_string_buf(&buffer, owned.pointer, key)
        if status == GIT_ENOTFOUND.rawValue { return nil }
        if status < 0 { throw GitError.last(status, function: "git_config_get_string_buf") }
        return String(cString: buffer.ptr)
    }
}
