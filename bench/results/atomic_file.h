// Whole-file replacement that readers never see half written.
#pragma once

#include <string>
#include <string_view>

#include "fabricbench/transport/status.h"

namespace fb {

// Writes content to "<path>.tmp.<pid>", fsyncs it, renames it over path and fsyncs the
// directory, so after a crash path holds the old content or the new, never a mix. The
// temporary file is removed on failure. Errors are kIoError with errno as the native code.
Status write_file_atomically(const std::string& path, std::string_view content);

std::string temporary_path_for(const std::string& path);

}  // namespace fb
