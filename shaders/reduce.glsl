// Workgroup-wide sum and max, correct for any subgroup size and any power-of-two workgroup
// size. Include after the local_size layout. USE_SUBGROUP selects subgroup arithmetic; the
// fallback is a shared-memory tree. ONE_SUBGROUP (the host guarantees the workgroup is one
// subgroup) is subgroup arithmetic with no barrier in the code at all: lavapipe runs every
// workgroup whose shader contains a barrier as coroutines, which made matvec 15x slower.
// The order of operations is fixed, so results repeat bit for bit.
#ifdef ONE_SUBGROUP
#define USE_SUBGROUP
#endif
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#if defined(ONE_SUBGROUP)
#define DEFINE_WG_REDUCE(NAME, SUBGROUP_OP, COMBINE) \
  float NAME(float v) { return SUBGROUP_OP(v); }
#elif defined(USE_SUBGROUP)
shared float reduce_scratch[gl_WorkGroupSize.x];
#define DEFINE_WG_REDUCE(NAME, SUBGROUP_OP, COMBINE)                   \
  float NAME(float v) {                                                \
    v = SUBGROUP_OP(v);                                                \
    if (gl_NumSubgroups == 1u) return v;                               \
    barrier();                                                         \
    if (subgroupElect()) reduce_scratch[gl_SubgroupID] = v;            \
    barrier();                                                         \
    float r = reduce_scratch[0];                                       \
    for (uint i = 1u; i < gl_NumSubgroups; ++i)                        \
      r = COMBINE(r, reduce_scratch[i]);                               \
    return r;                                                          \
  }
#else
shared float reduce_scratch[gl_WorkGroupSize.x];
#define DEFINE_WG_REDUCE(NAME, SUBGROUP_OP, COMBINE)                   \
  float NAME(float v) {                                                \
    const uint t = gl_LocalInvocationID.x;                             \
    barrier();                                                         \
    reduce_scratch[t] = v;                                             \
    barrier();                                                         \
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {         \
      if (t < s) reduce_scratch[t] = COMBINE(reduce_scratch[t], reduce_scratch[t + s]); \
      barrier();                                                       \
    }                                                                  \
    return reduce_scratch[0];                                          \
  }
#endif

float combine_add(float a, float b) { return a + b; }
DEFINE_WG_REDUCE(wg_sum, subgroupAdd, combine_add)
DEFINE_WG_REDUCE(wg_max, subgroupMax, max)

#ifdef REDUCE_VEC4
// Four sums at once: one reduction (and, without subgroups, one set of barriers) for four values.
#ifdef ONE_SUBGROUP
vec4 wg_sum4(vec4 v) { return subgroupAdd(v); }
#else
shared vec4 reduce_scratch4[gl_WorkGroupSize.x];
vec4 wg_sum4(vec4 v) {
#ifdef USE_SUBGROUP
  v = subgroupAdd(v);
  if (gl_NumSubgroups == 1u) return v;
  barrier();
  if (subgroupElect()) reduce_scratch4[gl_SubgroupID] = v;
  barrier();
  vec4 r = reduce_scratch4[0];
  for (uint i = 1u; i < gl_NumSubgroups; ++i) r += reduce_scratch4[i];
  return r;
#else
  const uint t = gl_LocalInvocationID.x;
  barrier();
  reduce_scratch4[t] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
    if (t < s) reduce_scratch4[t] += reduce_scratch4[t + s];
    barrier();
  }
  return reduce_scratch4[0];
#endif
}
#endif
#endif
