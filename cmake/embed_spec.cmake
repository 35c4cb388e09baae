# Writes INPUT (a text file) into OUTPUT as a C++ function returning it: FUNCTION in NAMESPACE,
# declared in HEADER.
file(READ ${INPUT} SPEC_TEXT)
string(LENGTH "${SPEC_TEXT}" SPEC_LENGTH)
# A raw string literal is limited in size by some compilers: split it into pieces of about 16 KB.
# Lengths and offsets count bytes: a cut is moved back until the next piece does not start inside
# a UTF-8 sequence (on a continuation byte, 0x80 to 0xBF), so each piece is valid UTF-8 source.
set(PIECES "")
set(OFFSET 0)
while(OFFSET LESS SPEC_LENGTH)
  set(SIZE 16000)
  math(EXPR NEXT "${OFFSET} + ${SIZE}")
  while(NEXT LESS SPEC_LENGTH)
    string(SUBSTRING "${SPEC_TEXT}" ${NEXT} 1 NEXT_BYTE)
    string(HEX "${NEXT_BYTE}" NEXT_HEX)
    if(NOT NEXT_HEX MATCHES "^[89ab]")
      break()
    endif()
    math(EXPR SIZE "${SIZE} - 1")
    math(EXPR NEXT "${OFFSET} + ${SIZE}")
  endwhile()
  string(SUBSTRING "${SPEC_TEXT}" ${OFFSET} ${SIZE} PIECE)
  string(APPEND PIECES "    R\"SPEC_DELIM(${PIECE})SPEC_DELIM\"\n")
  math(EXPR OFFSET "${OFFSET} + ${SIZE}")
endwhile()
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n\nconst char* ${FUNCTION}() {\n  return\n${PIECES}  ;\n}\n\n}  // namespace ${NAMESPACE}\n")
