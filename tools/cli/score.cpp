// `vkllm score`: directed KV-cache experiments from a JSONL file of cases: per case and
// condition the answer tokens' NLL (--out), and a summary table against bare.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/score.h"
#include "host/stats.h"
#include "models/load.h"
#include "runtime/device.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

using nlohmann::json;

struct ScoreOptions {
  std::string model, data, conditions = "bare,full,truncated,truncated_gap", out, summary_json;
};

std::vector<int32_t> ids_of(const json& j, const char* key) {
  if (!j.contains(key)) throw Error(std::string("missing field '") + key + "'");
  if (!j[key].is_array()) throw Error(std::string("field '") + key + "' must be an array of token ids or a string");
  std::vector<int32_t> out;
  for (const auto& v : j[key]) {
    if (!v.is_number_integer()) throw Error(std::string("field '") + key + "' holds a non-integer");
    out.push_back(v.get<int32_t>());
  }
  return out;
}

std::string text_of(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) throw Error(std::string("missing text field '") + key + "'");
  return j[key].get<std::string>();
}

// Tokens of `second` as they come after `first`: tokens(first + second) minus tokens(first),
// never `second` alone (a BPE merge across the boundary is refused, not silently shifted).
std::vector<int32_t> continuation(const Tokenizer& tok, const std::string& first, const std::string& second, const char* what) {
  const auto head = tok.encode(first, false, false), whole = tok.encode(first + second, false, false);
  if (whole.size() < head.size() || !std::equal(head.begin(), head.end(), whole.begin()))
    throw Error(std::string("the tokens of the ") + what + " merge with what precedes it (tokens(a + b) does not start with tokens(a))");
  return std::vector<int32_t>(whole.begin() + std::ptrdiff_t(head.size()), whole.end());
}

ScoreCase parse_case(const json& j, const Tokenizer* tok) {
  ScoreCase c;
  c.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : "";
  if (j.contains("document") && j["document"].is_string()) {  // text level
    if (!tok) throw Error("text cases need a model with a tokenizer");
    const std::string prefix = j.contains("prefix") ? text_of(j, "prefix") : "";
    c.bos = tok->vocab().bos;
    if (c.bos < 0) throw Error("the tokenizer has no BOS token");
    c.prefix = tok->encode(prefix, false, false);
    c.document = continuation(*tok, prefix, text_of(j, "document"), "document");
    c.query = tok->encode(text_of(j, "query"), false, false);
    c.answer = continuation(*tok, text_of(j, "query"), text_of(j, "answer"), "answer");
    return c;
  }
  if (!j.contains("bos") || !j["bos"].is_number_integer()) throw Error("missing field 'bos'");
  c.bos = j["bos"].get<int32_t>();
  c.prefix = j.contains("prefix") ? ids_of(j, "prefix") : std::vector<int32_t>{};
  c.document = ids_of(j, "document");
  c.query = ids_of(j, "query");
  c.answer = ids_of(j, "answer");
  return c;
}

void score(const ScoreOptions& o) {
  std::vector<Condition> conditions;
  for (std::stringstream ss(o.conditions); ss.good();) {
    std::string name;
    std::getline(ss, name, ',');
    if (!name.empty()) conditions.push_back(condition_from_name(name));
  }
  if (conditions.empty()) throw Error("score: no conditions");
  std::ifstream in(o.data);
  if (!in) throw Error("cannot open " + o.data);
  std::vector<std::pair<int, std::string>> lines;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.emplace_back(int(lines.size()) + 1, line);

  Device dev;
  LoadedModel loaded = load_model(dev, o.model);
  Scorer scorer(*loaded.model);
  std::ofstream out;
  if (!o.out.empty()) {
    out.open(o.out);
    if (!out) throw Error("cannot write " + o.out);
  }
  std::map<Condition, std::map<std::string, double>> means;  // condition -> case id -> nll_mean
  int failed = 0, done = 0;
  const auto start = std::chrono::steady_clock::now();
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  for (const auto& [number, line] : lines) {
    std::string id = "?";
    try {
      const json j = json::parse(line);
      if (j.contains("id")) id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
      const ScoreCase c = parse_case(j, loaded.tokenizer ? &*loaded.tokenizer : nullptr);
      id = c.id;
      for (const ConditionScore& s : scorer.score(c, conditions)) {
        means[s.condition][c.id] = s.nll_mean;
        if (out) out << json{{"id", c.id}, {"condition", condition_name(s.condition)}, {"token_nll", s.token_nll}, {"nll_mean", s.nll_mean}}.dump() << "\n";
      }
    } catch (const std::exception& e) {  // one bad case does not stop the others
      std::fprintf(stderr, "%svkllm score: %s line %d (case %s): %s\n", terminal ? "\r" : "", o.data.c_str(), number, id.c_str(), e.what());
      ++failed;
    }
    ++done;
    if (terminal) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\rscoring %d/%zu cases, %.1f cases/s, ETA %.0f s ", done, lines.size(), done / s,
                   (double(lines.size()) - done) * s / done);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%sscored %d cases (%d failed) in %.1f s, %.2f cases/s\n", terminal ? "\n" : "", done - failed, failed, seconds,
               double(done - failed) / seconds);

  // Summary against bare over the cases both have.
  json summary = json::object();
  std::printf("| %-14s | %5s | %9s | %9s | %8s | %9s | %9s | %9s |\n", "condition", "n", "mean NLL", "Δ vs bare", "win rate", "Cohen's d",
              "t-test p", "Wilcoxon p");
  std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", std::string(14, '-').c_str(), "-----", "---------", "---------", "--------",
              "---------", "---------", "---------");
  for (Condition cond : conditions) {
    const auto& m = means[cond];
    double total = 0;
    for (const auto& [_, v] : m) total += v;
    json row{{"n", m.size()}, {"mean_nll", m.empty() ? 0.0 : total / double(m.size())}};
    std::string delta = "", wins = "", d = "", tp = "", wp = "";
    if (cond != Condition::Bare && means.count(Condition::Bare)) {
      std::vector<double> x, base;
      for (const auto& [id, v] : m)
        if (auto it = means[Condition::Bare].find(id); it != means[Condition::Bare].end()) x.push_back(v), base.push_back(it->second);
      const PairedStats p = paired_stats(x, base);
      row.update({{"n_paired", p.n}, {"mean_delta_vs_bare", p.mean_delta}, {"win_rate_vs_bare", p.win_rate}, {"cohens_d", p.cohens_d},
                  {"t_test_p", p.t_test_p}, {"wilcoxon_p", p.wilcoxon_p}});
      char buf[5][32];
      std::snprintf(buf[0], 32, "%+.4f", p.mean_delta);
      std::snprintf(buf[1], 32, "%.3f", p.win_rate);
      std::snprintf(buf[2], 32, "%+.3f", p.cohens_d);
      std::snprintf(buf[3], 32, "%.3g", p.t_test_p);
      std::snprintf(buf[4], 32, "%.3g", p.wilcoxon_p);
      delta = buf[0], wins = buf[1], d = buf[2], tp = buf[3], wp = buf[4];
    }
    summary[condition_name(cond)] = row;
    std::printf("| %-14s | %5zu | %9.4f | %9s | %8s | %9s | %9s | %9s |\n", condition_name(cond), m.size(), row["mean_nll"].get<double>(),
                delta.c_str(), wins.c_str(), d.c_str(), tp.c_str(), wp.c_str());
  }
  if (!o.summary_json.empty()) {
    std::ofstream s(o.summary_json);
    if (!s) throw Error("cannot write " + o.summary_json);
    s << summary.dump(2) << "\n";
  }
  if (failed == done) throw Error("score: no case could be scored");
}

}  // namespace

Command add_score(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  auto* sub = app.add_subcommand("score", "two-phase NLL scoring of KV-cache experiments from a JSONL file of cases");
  sub->add_option("-m,--model", o->model, "model file or directory")->required();
  sub->add_option("--data", o->data, "cases, one JSON object a line: id, bos, prefix, document, query, answer")->required();
  sub->add_option("--conditions", o->conditions, "comma-separated: bare, full, truncated, truncated_gap, suffix")->capture_default_str();
  sub->add_option("--out", o->out, "one JSON line per case and condition");
  sub->add_option("--summary-json", o->summary_json, "the summary table as JSON");
  return {sub, [o] { score(*o); }};
}

}  // namespace vkllm::cli
