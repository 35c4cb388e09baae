# cmake/embed_spec.cmake never cuts a UTF-8 sequence between two string literals (each piece must be
# valid UTF-8 source): an input whose 16,000th byte is the first of a two-byte character must be
# cut before that character. Run with -DEMBED_SCRIPT=... -DWORK_DIR=...
string(REPEAT "a" 15999 LEADING)
set(INPUT ${WORK_DIR}/embed_utf8_input.txt)
set(OUTPUT ${WORK_DIR}/embed_utf8_output.cpp)
file(WRITE ${INPUT} "${LEADING}é and more")
execute_process(
  COMMAND ${CMAKE_COMMAND} -DINPUT=${INPUT} -DOUTPUT=${OUTPUT} -DFUNCTION=Text
          -DNAMESPACE=test -DHEADER=text.h -P ${EMBED_SCRIPT}
  RESULT_VARIABLE RESULT)
if(NOT RESULT EQUAL 0)
  message(FATAL_ERROR "embed_spec.cmake failed: ${RESULT}")
endif()
file(READ ${OUTPUT} GENERATED)
string(FIND "${GENERATED}" "${LEADING})SPEC_DELIM\"" CUT_BEFORE)
string(FIND "${GENERATED}" "R\"SPEC_DELIM(é and more)SPEC_DELIM\"" NEXT_PIECE)
if(CUT_BEFORE EQUAL -1 OR NEXT_PIECE EQUAL -1)
  message(FATAL_ERROR "the cut is not before the two-byte character:\n${GENERATED}")
endif()
