# Writes INPUT (a text file) into OUTPUT as a C++ function returning it: FUNCTION in NAMESPACE,
# declared in HEADER.
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
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n\nconst char* ${FUNCTION}() {\n  return\n${PIECES}  ;\n}\n\n}  // namespace ${NAMESPACE}\n")
