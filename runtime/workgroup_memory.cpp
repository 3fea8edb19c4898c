#include "runtime/workgroup_memory.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace vkllm {

namespace {

// SPIR-V opcodes and enumerants used below (SPIR-V 1.6 specification, section 3).
enum : uint32_t {
  kOpCompositeExtract = 81,
  kOpTypeBool = 20, kOpTypeInt = 21, kOpTypeFloat = 22, kOpTypeVector = 23, kOpTypeMatrix = 24,
  kOpTypeArray = 28, kOpTypeStruct = 30, kOpTypePointer = 32,
  kOpConstantTrue = 41, kOpConstantFalse = 42, kOpConstant = 43, kOpConstantComposite = 44,
  kOpSpecConstantTrue = 48, kOpSpecConstantFalse = 49, kOpSpecConstant = 50,
  kOpSpecConstantComposite = 51, kOpSpecConstantOp = 52,
  kOpVariable = 59, kOpDecorate = 71,
  kOpIAdd = 128, kOpISub = 130, kOpIMul = 132, kOpUDiv = 134, kOpUMod = 137,
  kOpSelect = 169, kOpIEqual = 170, kOpINotEqual = 171, kOpUGreaterThan = 172,
  kOpUGreaterThanEqual = 174, kOpULessThan = 176, kOpULessThanEqual = 178,
  kOpShiftRightLogical = 194, kOpShiftLeftLogical = 196, kOpBitwiseOr = 197, kOpBitwiseAnd = 199,
  kDecorationSpecId = 1,
  kStorageWorkgroup = 4,
};

struct Layout {
  uint64_t size = 0, align = 1;
  bool known = true;  // false for types without a size (runtime arrays, images, ...)
};

class Reader {
 public:
  explicit Reader(std::span<const uint32_t> spec) : spec_(spec) {}

  uint64_t run(std::span<const uint32_t> words) {
    if (words.size() < 5 || words[0] != 0x07230203u) throw Error("not a SPIR-V module");
    uint64_t total = 0;
    for (size_t at = 5; at < words.size();) {
      const uint32_t count = words[at] >> 16, op = words[at] & 0xffffu;
      if (count == 0 || at + count > words.size()) throw Error("malformed SPIR-V instruction");
      total += instruction(op, words.subspan(at + 1, count - 1));
      at += count;
    }
    return total;
  }

 private:
  // Returns the workgroup bytes the instruction declares (nonzero only for such variables).
  uint64_t instruction(uint32_t op, std::span<const uint32_t> a) {
    switch (op) {
      case kOpDecorate:
        if (a.size() >= 3 && a[1] == kDecorationSpecId) spec_id_[a[0]] = a[2];
        return 0;
      case kOpTypeBool: types_[a[0]] = {4, 4}; return 0;
      case kOpTypeInt:
      case kOpTypeFloat: types_[a[0]] = {a[1] / 8, a[1] / 8}; return 0;
      case kOpTypeVector: {
        const Layout c = type(a[1]);
        types_[a[0]] = {c.size * (a[2] == 3 ? 4 : a[2]), c.align * (a[2] == 2 ? 2 : 4), c.known};
        return 0;
      }
      case kOpTypeMatrix: {
        const Layout c = type(a[1]);
        types_[a[0]] = {c.size * a[2], c.align, c.known};
        return 0;
      }
      case kOpTypeArray: {
        const Layout e = type(a[1]);
        const uint64_t stride = (e.size + e.align - 1) / e.align * e.align;
        auto length = values_.find(a[2]);
        types_[a[0]] = {stride * (length == values_.end() ? 0 : length->second), e.align,
                        e.known && length != values_.end()};
        return 0;
      }
      case kOpTypeStruct: {
        Layout s;
        for (size_t i = 1; i < a.size(); ++i) {
          const Layout m = type(a[i]);
          s.size = (s.size + m.align - 1) / m.align * m.align + m.size;
          s.align = std::max(s.align, m.align);
          s.known = s.known && m.known;
        }
        s.size = (s.size + s.align - 1) / s.align * s.align;
        types_[a[0]] = s;
        return 0;
      }
      case kOpTypePointer:
        pointee_[a[0]] = {a[1], a[2]};
        return 0;
      case kOpConstantTrue: values_[a[1]] = 1; return 0;
      case kOpConstantFalse: values_[a[1]] = 0; return 0;
      case kOpConstant: values_[a[1]] = a.size() > 2 ? a[2] : 0; return 0;
      case kOpSpecConstantTrue:
      case kOpSpecConstantFalse:
      case kOpSpecConstant: {
        uint64_t v = op == kOpSpecConstantTrue ? 1 : op == kOpSpecConstantFalse ? 0 : a.size() > 2 ? a[2] : 0;
        if (auto it = spec_id_.find(a[1]); it != spec_id_.end() && it->second < spec_.size()) v = spec_[it->second];
        values_[a[1]] = v;
        return 0;
      }
      case kOpConstantComposite:
      case kOpSpecConstantComposite:
        composites_[a[1]].assign(a.begin() + 2, a.end());
        return 0;
      case kOpSpecConstantOp: values_[a[1]] = evaluate(a[2], a.subspan(3)); return 0;
      case kOpVariable: {
        auto it = pointee_.find(a[0]);
        if (a.size() < 3 || a[2] != kStorageWorkgroup || it == pointee_.end()) return 0;
        const Layout t = type(it->second.second);
        if (!t.known) throw Error("SPIR-V: a workgroup variable has a type the workgroup-memory check cannot size");
        return t.size;
      }
      default: return 0;
    }
  }

  uint64_t evaluate(uint32_t op, std::span<const uint32_t> x) {
    auto v = [&](size_t i) { return value(x[i]); };
    switch (op) {
      case kOpCompositeExtract: {
        auto it = composites_.find(x[0]);
        if (it == composites_.end() || x[1] >= it->second.size()) throw Error("SPIR-V: bad composite extract");
        return value(it->second[x[1]]);
      }
      case kOpIAdd: return uint32_t(v(0) + v(1));
      case kOpISub: return uint32_t(v(0) - v(1));
      case kOpIMul: return uint32_t(v(0) * v(1));
      case kOpUDiv: return v(1) ? v(0) / v(1) : 0;
      case kOpUMod: return v(1) ? v(0) % v(1) : 0;
      case kOpShiftRightLogical: return v(0) >> (v(1) & 31);
      case kOpShiftLeftLogical: return uint32_t(v(0) << (v(1) & 31));
      case kOpBitwiseOr: return v(0) | v(1);
      case kOpBitwiseAnd: return v(0) & v(1);
      case kOpSelect: return v(0) ? v(1) : v(2);
      case kOpIEqual: return v(0) == v(1);
      case kOpINotEqual: return v(0) != v(1);
      case kOpUGreaterThan: return v(0) > v(1);
      case kOpUGreaterThanEqual: return v(0) >= v(1);
      case kOpULessThan: return v(0) < v(1);
      case kOpULessThanEqual: return v(0) <= v(1);
      default:
        throw Error("SPIR-V specialization-constant operation " + std::to_string(op) +
                    " is not understood by the workgroup-memory check");
    }
  }

  uint64_t value(uint32_t id) const {
    auto it = values_.find(id);
    if (it == values_.end()) throw Error("SPIR-V: constant %" + std::to_string(id) + " is not a known scalar");
    return it->second;
  }
  Layout type(uint32_t id) const {
    auto it = types_.find(id);
    return it == types_.end() ? Layout{0, 1, false} : it->second;
  }

  std::span<const uint32_t> spec_;
  std::map<uint32_t, uint32_t> spec_id_;
  std::map<uint32_t, Layout> types_;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> pointee_;  // pointer type -> (storage class, type)
  std::map<uint32_t, uint64_t> values_;
  std::map<uint32_t, std::vector<uint32_t>> composites_;
};

}  // namespace

uint64_t workgroup_memory_bytes(std::span<const uint32_t> words, std::span<const uint32_t> spec) {
  return Reader(spec).run(words);
}

}  // namespace vkllm
