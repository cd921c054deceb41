// Reading results back from files, for tools that compare runs or recover a killed one.
#pragma once

#include <string>
#include <vector>

#include "fabricbench/transport/status.h"
#include "results/json_io.h"

namespace fb {

// A final document. Errors name the file and, for content, the field (kInvalidArgument);
// a file that cannot be opened is kIoError.
Expected<ResultDocument> load_document(const std::string& path);

// The records of a JSON Lines stream, in order. A last line without its newline that does not
// parse is dropped: that is what a run killed mid-write leaves. Any other bad line is an error
// naming its line number.
Expected<std::vector<Record>> load_stream(const std::string& path);

}  // namespace fb
