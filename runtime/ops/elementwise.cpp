// add, mul, glu (binary.comp) and scale, silu, gelu (unary.comp).
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {

const OpDecl kBinary{"binary", {Access::Read, Access::Read, Access::Write}, 8 * 4};
const OpDecl kUnary{"unary", {Access::Read, Access::Write}, 7 * 4};
constexpr uint32_t kLocal = 256;

void binary(Graph& g, const Tensor& a, const Tensor& b, const Tensor& out, uint32_t op, const char* name) {
  for (auto* t : {&a, &b, &out}) require_dtype(*t, DType::F32, name);
  require_same_shape(a, out, name);
  const bool broadcast = b.rows == 1 && a.rows != 1;
  require(b.cols == a.cols && (broadcast || b.rows == a.rows),
          std::string(name) + ": " + b.describe() + " is neither the shape of " + a.describe() + " nor one row");
  const Pipeline& pipe = g.device().pipelines().get(kBinary, "binary", {kLocal, op});
  for (auto [r0, n] : split_rows(a.rows, {&a, broadcast ? nullptr : &b, &out})) {
    Binding ba = bind_rows(a, r0, n), bb = broadcast ? bind(b) : bind_rows(b, r0, n), bo = bind_rows(out, r0, n);
    struct {
      uint32_t rows, cols, a_off, a_stride, b_off, b_stride, o_off, o_stride;
    } push{u32(n), u32(a.cols), ba.elem_offset, u32(a.row_stride), bb.elem_offset,
           broadcast ? 0u : u32(b.row_stride), bo.elem_offset, u32(out.row_stride)};
    g.dispatch(pipe, {ba, bb, bo}, push, groups_for(uint64_t(n) * a.cols, kLocal, g.device().caps()));
  }
}

void unary(Graph& g, const Tensor& x, const Tensor& out, uint32_t op, float factor, const char* name) {
  require_dtype(x, DType::F32, name);
  require_dtype(out, DType::F32, name);
  require_same_shape(x, out, name);
  const Pipeline& pipe = g.device().pipelines().get(kUnary, "unary", {kLocal, op});
  for (auto [r0, n] : split_rows(x.rows, {&x, &out})) {
    Binding bx = bind_rows(x, r0, n), bo = bind_rows(out, r0, n);
    struct {
      uint32_t rows, cols, x_off, x_stride, o_off, o_stride;
      float scale;
    } push{u32(n), u32(x.cols), bx.elem_offset, u32(x.row_stride), bo.elem_offset, u32(out.row_stride), factor};
    g.dispatch(pipe, {bx, bo}, push, groups_for(uint64_t(n) * x.cols, kLocal, g.device().caps()));
  }
}

}  // namespace

void add(Graph& g, const Tensor& a, const Tensor& b, const Tensor& out) { binary(g, a, b, out, 0, "add"); }
void mul(Graph& g, const Tensor& a, const Tensor& b, const Tensor& out) { binary(g, a, b, out, 1, "mul"); }
void glu(Graph& g, const Tensor& gate, const Tensor& up, const Tensor& out, Activation act) {
  require_same_shape(gate, up, "glu");
  binary(g, gate, up, out, act == Activation::Silu ? 2 : act == Activation::GeluTanh ? 3 : 4, "glu");
}
void scale(Graph& g, const Tensor& x, float factor, const Tensor& out) { unary(g, x, out, 0, factor, "scale"); }
void softcap(Graph& g, const Tensor& x, float cap, const Tensor& out) {
  require(cap > 0, "softcap: the cap must be positive");
  unary(g, x, out, 4, cap, "softcap");
}
void silu(Graph& g, const Tensor& x, const Tensor& out) { unary(g, x, out, 1, 0.0f, "silu"); }
void relu(Graph& g, const Tensor& x, const Tensor& out) { unary(g, x, out, 5, 0.0f, "relu"); }
void gelu(Graph& g, const Tensor& x, const Tensor& out, GeluForm form) {
  unary(g, x, out, form == GeluForm::Tanh ? 2 : 3, 0.0f, "gelu");
}

}  // namespace vkllm::ops
