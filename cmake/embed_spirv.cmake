# cmake -DNAME=n -DINPUT=x.spv -DOUTPUT=x.cpp -P embed_spirv.cmake
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR words "${len} / 8")
# SPIR-V is a little-endian word stream; regroup bytes into 32-bit words.
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])"
       "0x\\4\\3\\2\\1u," body "${hex}")
file(WRITE ${OUTPUT}
  "#include <cstddef>\n#include <cstdint>\n"
  "extern const uint32_t spv_${NAME}[] = {${body}};\n"
  "extern const size_t spv_${NAME}_words = ${words};\n")
