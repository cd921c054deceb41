#pragma once

namespace fb {
const char* tool_version();
const char* git_sha();
}  // namespace fb
