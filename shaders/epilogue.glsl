// How a matrix product stores y[v, m] (runtime ops::Epilogue): plus bias[m] where EPILOGUE has
// bit 0, plus the y already there where it has bit 1 (a residual added in place). Saves the
// separate add dispatches and their passes over y. Define Y_BINDING first; the bias is bound
// at Y_BINDING + 1 (the host binds x there when there is none), and the push block ends with
// b_off, the bias's first element.
layout(constant_id = 3) const uint EPILOGUE = 0u;
layout(set = 0, binding = Y_BINDING) buffer Y { float y[]; };
layout(set = 0, binding = Y_BINDING + 1) readonly buffer Bias { float bias[]; };

// y[at] = value, with the epilogue; m: the output column (0-based within this dispatch).
void store_y(uint at, uint m, float value) {
  if ((EPILOGUE & 1u) != 0u) value += bias[p.b_off + m];
  if ((EPILOGUE & 2u) != 0u) value = y[at] + value;
  y[at] = value;
}
