# Writes INPUT (a JSON file) into OUTPUT as a C++ string constant.
file(READ ${INPUT} SPEC_TEXT)
string(LENGTH "${SPEC_TEXT}" SPEC_LENGTH)
# A raw string literal is limited in size by some compilers: split it into 16 KiB pieces.
set(PIECES "")
set(OFFSET 0)
while(OFFSET LESS SPEC_LENGTH)
  string(SUBSTRING "${SPEC_TEXT}" ${OFFSET} 16000 PIECE)
  string(APPEND PIECES "    R\"SPEC_DELIM(${PIECE})SPEC_DELIM\"\n")
  math(EXPR OFFSET "${OFFSET} + 16000")
endwhile()
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"lab_orders/sim/junction_spec.h\"\n\nnamespace lab_orders::sim {\n\nconst char* JunctionSpecText() {\n  return\n${PIECES}  ;\n}\n\n}  // namespace lab_orders::sim\n")
