// JSON for the parts of results that fabric sweeps and soaks add (schema 1.4): a record's
// soak intervals, incast and congestion blocks, and the document's fabric verdict.
#pragma once

#include <nlohmann/json.hpp>

#include "fabricbench/transport/status.h"
#include "results/record.h"

namespace fb {

nlohmann::json to_json(const SoakSummary& soak);
nlohmann::json to_json(const IncastResult& incast);
nlohmann::json to_json(const CongestionResult& congestion);
nlohmann::json to_json(const FabricSummary& fabric);

// Errors are kInvalidArgument naming `path` and the field that did not read.
Expected<SoakSummary> soak_from_json(const nlohmann::json& j, const std::string& path);
Expected<IncastResult> incast_from_json(const nlohmann::json& j, const std::string& path);
Expected<CongestionResult> congestion_from_json(const nlohmann::json& j, const std::string& path);
Expected<FabricSummary> fabric_from_json(const nlohmann::json& j, const std::string& path);

}  // namespace fb
