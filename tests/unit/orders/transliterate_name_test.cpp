// TransliterateName: a patient's name as the lab can print it (ASCII letters, digits, space and
// -.,'), from any valid UTF-8.

#include <gtest/gtest.h>

#include <string>

#include "lab_orders/orders/request_validator.h"

namespace lab_orders::orders {
namespace {

// ---- TransliterateName --------------------------------------------------------------------------

TEST(TransliterateNameTest, KeepsWhatTheLabCanPrint) {
  EXPECT_EQ(TransliterateName("Ana"), "Ana");
  EXPECT_EQ(TransliterateName("Smith-Jones, Jr."), "Smith-Jones, Jr.");
  EXPECT_EQ(TransliterateName("O'Neil"), "O'Neil");
  EXPECT_EQ(TransliterateName("Henry 8th"), "Henry 8th");
}

TEST(TransliterateNameTest, StripsAccentsFromCommonNames) {
  EXPECT_EQ(TransliterateName("José"), "Jose");
  EXPECT_EQ(TransliterateName("Zoë"), "Zoe");
  EXPECT_EQ(TransliterateName("Łukasz"), "Lukasz");
  EXPECT_EQ(TransliterateName("Françoise"), "Francoise");
  EXPECT_EQ(TransliterateName("Müller"), "Muller");
  EXPECT_EQ(TransliterateName("Ñúñez"), "Nunez");
  EXPECT_EQ(TransliterateName("Søren Ångström"), "Soren Angstrom");
  EXPECT_EQ(TransliterateName("Dvořák"), "Dvorak");
  EXPECT_EQ(TransliterateName("Ștefan Țurcan"), "Stefan Turcan");
}

TEST(TransliterateNameTest, MapsLatin1LowercaseLetters) {
  EXPECT_EQ(TransliterateName("á à â ä ã å æ ç é è ê ë í ì î ï ñ ó ò ô ö õ ø œ ß ú ù û ü ý ÿ"),
            "a a a a a a ae c e e e e i i i i n o o o o o o oe ss u u u u y y");
}

TEST(TransliterateNameTest, MapsLatin1UppercaseLetters) {
  EXPECT_EQ(TransliterateName("Á À Â Ä Ã Å Æ Ç É È Ê Ë Í Ì Î Ï Ñ Ó Ò Ô Ö Õ Ø Œ Ú Ù Û Ü Ý Ÿ"),
            "A A A A A A AE C E E E E I I I I N O O O O O O OE U U U U Y Y");
}

TEST(TransliterateNameTest, MapsLatinExtendedALetters) {
  EXPECT_EQ(TransliterateName("Ł ł Ś ś Ź ź Ż ż Ć ć Ń ń Ę ę Ą ą Š š Ž ž Č č Ř ř Ď ď Ť ť Ň ň"),
            "L l S s Z z Z z C c N n E e A a S s Z z C c R r D d T t N n");
  EXPECT_EQ(TransliterateName("Ő ő Ű ű Ğ ğ İ ı Ş ş Ā ā Ē ē Ū ū Ĳ ĳ Đ đ"),
            "O o U u G g I i S s A a E e U u IJ ij D d");
}

TEST(TransliterateNameTest, TurnsTypographicPunctuationIntoAscii) {
  EXPECT_EQ(TransliterateName("D’Angelo"), "D'Angelo");
  EXPECT_EQ(TransliterateName("O‘Neil"), "O'Neil");
  EXPECT_EQ(TransliterateName("Mary–Kate"), "Mary-Kate");
  EXPECT_EQ(TransliterateName("O`Brien"), "O'Brien");
}

TEST(TransliterateNameTest, DropsCombiningAccentsOfDecomposedText) {
  EXPECT_EQ(TransliterateName("Jose\xcc\x81"), "Jose");  // e + U+0301
}

TEST(TransliterateNameTest, CollapsesAndTrimsSpaces) {
  EXPECT_EQ(TransliterateName("  Mary   Ann  "), "Mary Ann");
  EXPECT_EQ(TransliterateName("Mary\tAnn\n"), "Mary Ann");
  EXPECT_EQ(TransliterateName("Mary\xc2\xa0"
                              "Ann"),
            "Mary Ann");  // no-break space
  EXPECT_EQ(TransliterateName("Zoë 😀 Smith"), "Zoe Smith");
}

TEST(TransliterateNameTest, DropsWhatItCannotPrint) {
  EXPECT_EQ(TransliterateName("Anne!"), "Anne");
  EXPECT_EQ(TransliterateName("a_b@c"), "abc");
  EXPECT_EQ(TransliterateName("李小龍"), "");
  EXPECT_EQ(TransliterateName("   "), "");
  EXPECT_EQ(TransliterateName(""), "");
  EXPECT_EQ(TransliterateName("×÷"), "");
}

TEST(TransliterateNameTest, DropsMalformedUtf8) {
  EXPECT_EQ(TransliterateName("Jo\xffse"), "Jose");
  EXPECT_EQ(TransliterateName("Jos\xc3"), "Jos");  // truncated
  EXPECT_EQ(TransliterateName("A\xc0\xa0"
                              "B"),
            "AB");  // overlong encoding of a space
  EXPECT_EQ(TransliterateName("A\xed\xa0\x80"
                              "B"),
            "AB");  // a UTF-16 surrogate
  EXPECT_EQ(TransliterateName("\x80\x80"
                              "Ana"),
            "Ana");  // stray continuation bytes
}

}  // namespace
}  // namespace lab_orders::orders
