// 16-byte reads of a read-only buffer, through a uniform texel buffer of RGBA32UI texels
// (TEXEL_READS: the host binds it with Access::ReadTexels) or a storage buffer of uvec4.
// DECLARE_FETCH(binding, name) declares it; FETCH(name, i) reads bytes [16 i, 16 i + 16).
#ifdef TEXEL_READS
#define DECLARE_FETCH(BINDING, NAME) layout(set = 0, binding = BINDING) uniform usamplerBuffer NAME;
#define FETCH(NAME, I) texelFetch(NAME, int(I))
#else
#define DECLARE_FETCH(BINDING, NAME) layout(set = 0, binding = BINDING) readonly buffer NAME##_words { uvec4 NAME[]; };
#define FETCH(NAME, I) NAME[I]
#endif

// Component i (0..3) of a texel. Selects: lanes index differently, and a dynamically indexed
// vector costs lavapipe a trip through memory.
uint component(uvec4 t, uint i) { return i == 0u ? t.x : i == 1u ? t.y : i == 2u ? t.z : t.w; }

// The f16 at element e of a fetched buffer.
#define FETCH_HALF(NAME, E) half_of(FETCH(NAME, (E) >> 3u), (E))
float half_of(uvec4 t, uint e) {
  const uint w = component(t, (e >> 1u) & 3u);
  const vec2 h = unpackHalf2x16(w);
  return (e & 1u) != 0u ? h.y : h.x;
}
