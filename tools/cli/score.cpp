// `vkllm score`: directed KV-cache experiments from a JSONL file of cases: per case and
// condition the answer tokens' NLL (--out), and a summary table against bare.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <map>
#include <tuple>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/research/heatmap.h"
#include "host/research/score.h"
#include "host/research/score_cases.h"
#include "host/research/stats.h"
#include "models/load.h"
#include "runtime/device.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

using nlohmann::json;

struct ScoreOptions {
  std::string model, data, conditions = "bare,full,truncated,truncated_gap", out, summary_json, window = "refuse", probe;
  bool random_prefix = false, no_query = false;
  uint32_t seed = 0;
};

// Attention shares per summary row, summed over cases, for --probe.
class ProbeTotals {
 public:
  void add(const std::string& row, const std::vector<std::array<double, kSegments>>& layers) {
    auto [it, fresh] = rows_.try_emplace(row);
    if (fresh) order_.push_back(row);
    Row& r = it->second;
    if (r.sum.empty()) r.sum.resize(layers.size());
    for (size_t l = 0; l < layers.size(); ++l)
      for (size_t k = 0; k < kSegments; ++k) r.sum[l][k] += layers[l][k];
    ++r.n;
  }
  // DIR/attention.json: per row, n and the mean shares per layer; DIR/attention.png: the
  // same as a heatmap, one band of layers per row.
  void write(const std::string& dir) const {
    std::filesystem::create_directories(dir);
    json rows = json::object();
    Heatmap map;
    for (size_t k = 0; k < kSegments; ++k) map.column_labels.push_back(segment_name(Segment(k)));
    for (const std::string& name : order_) {
      const Row& r = rows_.at(name);
      json layers = json::array();
      map.separators_before.push_back(map.values.size());
      for (size_t l = 0; l < r.sum.size(); ++l) {
        std::vector<double> mean(kSegments);
        for (size_t k = 0; k < kSegments; ++k) mean[k] = r.sum[l][k] / double(r.n);
        layers.push_back(mean);
        map.row_labels.push_back(name + " L" + std::to_string(l));
        map.values.push_back(mean);
      }
      rows[name] = json{{"n", r.n}, {"layers", layers}};
    }
    const std::string json_path = (std::filesystem::path(dir) / "attention.json").string();
    std::ofstream f(json_path);
    if (!f) throw Error("cannot write " + json_path);
    f << json{{"segments", map.column_labels}, {"description", "share of attention mass from the answer tokens to each segment, per layer, "
                                                      "mean over query heads, answer tokens and cases"},
              {"conditions", rows}}
             .dump(2)
      << "\n";
    write_heatmap_png(map, (std::filesystem::path(dir) / "attention.png").string());
  }

 private:
  struct Row {
    std::vector<std::array<double, kSegments>> sum;
    int n = 0;
  };
  std::map<std::string, Row> rows_;
  std::vector<std::string> order_;
};

// Summary rows are named by condition, with the prefix in brackets unless it is the case's own.
std::string row_name(Condition c, const std::string& prefix) {
  return prefix == "prefix" ? condition_name(c) : std::string(condition_name(c)) + "[" + prefix + "]";
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
  Scorer scorer(*loaded.model, {.window = o.window == "truncate" ? WindowPolicy::TruncateDocument : WindowPolicy::Refuse,
                                 .probe = !o.probe.empty(), .decoder_query = !o.no_query});
  ProbeTotals probes;
  std::ofstream out;
  if (!o.out.empty()) {
    out.open(o.out);
    if (!out) throw Error("cannot write " + o.out);
  }
  std::map<std::string, std::map<std::string, double>> means;  // row name -> case id -> nll_mean
  std::vector<std::pair<std::string, std::string>> rows;          // (row, its bare row), in first-seen order
  int failed = 0, done = 0;
  const auto start = std::chrono::steady_clock::now();
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  for (const auto& [number, line] : lines) {
    std::string id = "?";
    try {
      const json j = json::parse(line);
      if (j.contains("id")) id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
      std::optional<RandomPrefix> random;
      if (o.random_prefix) random = RandomPrefix{o.seed, loaded.model->vocab(), loaded.model->prompt_suffix()};
      const auto variants = score_variants(j, loaded.tokenizer ? &*loaded.tokenizer : nullptr, random, number);
      std::vector<std::pair<std::string, json>> lines_out;  // written only when every variant succeeded
      std::vector<std::tuple<std::string, std::string, double>> results;
      std::vector<std::pair<std::string, std::vector<std::array<double, kSegments>>>> probed;  // (row, shares per layer)
      for (const ScoreVariant& v : variants) {
        id = v.c.id;
        const CaseScore scored = scorer.score(v.c, conditions);
        for (const ConditionScore& s : scored.conditions) {
          results.emplace_back(row_name(s.condition, v.prefix_name), row_name(Condition::Bare, v.prefix_name), s.nll_mean);
          json line_json{{"id", v.c.id}, {"condition", condition_name(s.condition)}, {"prefix", v.prefix_name},
                         {"prefix_tokens", v.c.prefix.size()}, {"document_tokens", scored.document_tokens},
                         {"token_nll", s.token_nll}, {"nll_mean", s.nll_mean}};
          if (scored.document_tokens_dropped) line_json["document_tokens_dropped"] = scored.document_tokens_dropped;
          if (!s.attention_share.empty()) {
            line_json["attention"] = s.attention_share;
            probed.emplace_back(row_name(s.condition, v.prefix_name), s.attention_share);
          }
          if (!s.cross_attention_share.empty()) {  // encoder-decoder models: attention above is the decoder's own
            line_json["cross_attention"] = s.cross_attention_share;
            probed.emplace_back(row_name(s.condition, v.prefix_name) + " cross", s.cross_attention_share);
          }
          lines_out.emplace_back(v.c.id, std::move(line_json));
        }
        if (scored.document_tokens_dropped)
          std::fprintf(stderr, "%svkllm score: line %d (case %s, prefix %s): the document's last %zu tokens were cut to fit the sliding window\n",
                       terminal ? "\r" : "", number, v.c.id.c_str(), v.prefix_name.c_str(), scored.document_tokens_dropped);
      }
      for (const auto& [row, bare_row, value] : results) {
        if (!means.count(row)) rows.emplace_back(row, bare_row);
        means[row][id] = value;
      }
      if (out) {  // flushed per case, so an interrupted run keeps what it scored
        for (const auto& [_, line_json] : lines_out) out << line_json.dump() << "\n";
        out.flush();
      }
      for (const auto& [row, shares] : probed) probes.add(row, shares);
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
  std::printf("| %-22s | %5s | %9s | %9s | %8s | %9s | %9s | %9s |\n", "condition", "n", "mean NLL", "Δ vs bare", "win rate", "Cohen's d",
              "t-test p", "Wilcoxon p");
  std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", std::string(22, '-').c_str(), "-----", "---------", "---------", "--------",
              "---------", "---------", "---------");
  for (const auto& [row_label, bare_row] : rows) {
    const auto& m = means[row_label];
    double total = 0;
    for (const auto& [_, v] : m) total += v;
    json row{{"n", m.size()}, {"mean_nll", m.empty() ? 0.0 : total / double(m.size())}};
    std::string delta = "", wins = "", d = "", tp = "", wp = "";
    if (row_label != bare_row && means.count(bare_row)) {
      std::vector<double> x, base;
      const auto& bare = means[bare_row];
      for (const auto& [id, v] : m)
        if (auto it = bare.find(id); it != bare.end()) x.push_back(v), base.push_back(it->second);
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
    summary[row_label] = row;
    std::printf("| %-22s | %5zu | %9.4f | %9s | %8s | %9s | %9s | %9s |\n", row_label.c_str(), m.size(), row["mean_nll"].get<double>(),
                delta.c_str(), wins.c_str(), d.c_str(), tp.c_str(), wp.c_str());
  }
  if (!o.summary_json.empty()) {
    std::ofstream s(o.summary_json);
    if (!s) throw Error("cannot write " + o.summary_json);
    s << summary.dump(2) << "\n";
  }
  if (!o.probe.empty()) probes.write(o.probe);
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
  sub->add_flag("--random-prefix", o->random_prefix, "also score a seeded random-token prefix as long as each case's own (a control)");
  sub->add_option("--seed", o->seed, "seed of the random prefixes")->capture_default_str();
  sub->add_flag("--no-query", o->no_query, "encoder-decoder models: the decoder reads [start] + answer, without the query");
  sub->add_option("--probe", o->probe,
                  "directory for attention.json and attention.png: per condition and layer, the answer tokens' attention share "
                  "per segment (BOS, prefix, document, query, answer)");
  sub->add_option("--window", o->window,
                  "a case longer than the model's sliding window: refuse it, or truncate its document's end to fit (noted in --out)")
      ->check(CLI::IsMember({"refuse", "truncate"}))
      ->capture_default_str();
  return {sub, [o] { score(*o); }};
}

}  // namespace vkllm::cli
