#include "results/fabric_console.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace fb {
namespace {

constexpr size_t kMatrixHosts = 16;  // wider matrices do not fit a terminal; the JSON has them
constexpr size_t kWorstPairs = 5;

struct Cell {
  size_t from, to;
  double value;
};

std::vector<Cell> measured_cells(const FabricSummary& f) {
  std::vector<Cell> cells;
  for (size_t a = 0; a < f.matrix.size(); ++a)
    for (size_t b = 0; b < f.matrix[a].size(); ++b)
      if (a != b && std::isfinite(f.matrix[a][b])) cells.push_back({a, b, f.matrix[a][b]});
  return cells;
}

void print_matrix(std::FILE* out, const FabricSummary& f, const char* unit) {
  std::fprintf(out, "# matrix, %s [row = from, column = to]:\n#%12s", unit, "");
  for (const auto& name : f.hosts) std::fprintf(out, " %10.10s", name.c_str());
  std::fputc('\n', out);
  for (size_t a = 0; a < f.hosts.size(); ++a) {
    std::fprintf(out, "# %-11.11s", f.hosts[a].c_str());
    for (size_t b = 0; b < f.hosts.size(); ++b) {
      const double v = f.matrix[a][b];
      if (std::isfinite(v))
        std::fprintf(out, " %10.3f", v);
      else
        std::fprintf(out, " %10s", "-");
    }
    std::fputc('\n', out);
  }
}

// Per host: the weakest and the median of every pair it takes part in, both directions.
void print_per_host(std::FILE* out, const FabricSummary& f, bool higher_is_better) {
  std::fprintf(out, "# per host (%s / median of its pairs):", higher_is_better ? "min" : "max");
  for (size_t h = 0; h < f.hosts.size(); ++h) {
    std::vector<double> values;
    for (const Cell& c : measured_cells(f))
      if (c.from == h || c.to == h) values.push_back(c.value);
    if (values.empty()) {
      std::fprintf(out, " %s -;", f.hosts[h].c_str());
      continue;
    }
    std::sort(values.begin(), values.end());
    const double weakest = higher_is_better ? values.front() : values.back();
    std::fprintf(out, " %s %.3f / %.3f;", f.hosts[h].c_str(), weakest, values[(values.size() - 1) / 2]);
  }
  std::fputc('\n', out);
}

void print_worst(std::FILE* out, const FabricSummary& f, bool higher_is_better) {
  auto cells = measured_cells(f);
  std::sort(cells.begin(), cells.end(), [&](const Cell& x, const Cell& y) {
    return higher_is_better ? x.value < y.value : x.value > y.value;
  });
  std::fprintf(out, "# worst pairs:");
  for (size_t i = 0; i < std::min(kWorstPairs, cells.size()); ++i)
    std::fprintf(out, "%s %s -> %s %.3f", i ? "," : "", f.hosts[cells[i].from].c_str(), f.hosts[cells[i].to].c_str(),
                 cells[i].value);
  std::fputc('\n', out);
}

void print_suspect(std::FILE* out, const char* what, const FabricSuspect& s) {
  double measured = 0, median = 0, retest = 0;
  int retested = 0;
  for (const FabricEvidence& e : s.evidence) {
    measured += e.measured_gbits;
    median = e.median_gbits;
    if (e.retest_gbits) {
      retest += *e.retest_gbits;
      ++retested;
    }
  }
  const double pairs = static_cast<double>(std::max<size_t>(s.evidence.size(), 1));
  std::fprintf(out, "# %s %s %s (confidence %.2f): %zu slow pair%s, mean %.3f Gb/s vs median %.3f", what,
               s.kind.c_str(), s.subject.c_str(), s.confidence, s.evidence.size(), s.evidence.size() == 1 ? "" : "s",
               measured / pairs, median);
  if (retested > 0) std::fprintf(out, ", retest %.3f", retest / retested);
  std::fputc('\n', out);
}

}  // namespace

void print_fabric_summary(std::FILE* out, const FabricSummary& f) {
  const bool bandwidth = f.metric == "gbits_per_s";
  const char* unit = bandwidth ? "Gb/s per direction" : "latency p50 in us";
  std::fprintf(out, "#\n# fabric: %zu hosts, %d rounds, %.1f s; %s at %llu bytes\n", f.hosts.size(), f.rounds,
               f.elapsed_s, f.test.c_str(), static_cast<unsigned long long>(f.bytes));
  if (f.hosts.size() <= kMatrixHosts) print_matrix(out, f, unit);
  print_per_host(out, f, bandwidth);
  print_worst(out, f, bandwidth);
  if (f.analysis) {
    const FabricAnalysis& a = *f.analysis;
    std::fprintf(out, "# analysis: median %.3f Gb/s, slow below %.3f Gb/s", a.median_gbits, a.slow_below_gbits);
    if (a.expected_gbits) std::fprintf(out, " (expected %.3f x %.2f)", *a.expected_gbits, a.efficiency);
    std::fprintf(out, "; %d of %d pairs slow%s\n", a.slow_pairs, a.measured_pairs,
                 f.retested ? " after the retest" : "");
  }
  if (!f.analysis_note.empty()) std::fprintf(out, "# %s\n", f.analysis_note.c_str());
  for (const FabricSuspect& s : f.suspects) print_suspect(out, "SUSPECT", s);
  for (const FabricSuspect& s : f.cleared) print_suspect(out, "cleared by the retest:", s);
  if (f.analysis && f.suspects.empty()) std::fprintf(out, "# no suspects\n");
  std::fflush(out);
}

}  // namespace fb
