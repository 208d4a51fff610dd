// A throwaway CA in a temp dir, made with the openssl CLI as the lab makes
// its own (lab/weftlab/control.py, docs/OPERATIONS.md): certificates minted
// on demand with the extensions a test wants.
#ifndef WEFT_TESTS_TESTING_TEST_PKI_H_
#define WEFT_TESTS_TESTING_TEST_PKI_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft {

class TestPki {
 public:
  // Extensions of the certificates the real deployment uses.
  static std::string Node(const std::string& name) {
    return absl::StrCat("subjectAltName=URI:spiffe://weft/node/", name,
                        "\nextendedKeyUsage=clientAuth\n");
  }
  static std::string Admin(const std::string& who) {
    return absl::StrCat("subjectAltName=URI:spiffe://weft/admin/", who,
                        "\nextendedKeyUsage=clientAuth\n");
  }
  static constexpr const char* kServer =
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";

  TestPki() {
    char tmpl[] = "/tmp/weft-pki-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ok_ =
        Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
           "-subj /CN=weft-test-ca -keyout ca.key -out ca.pem");
  }
  ~TestPki() { std::filesystem::remove_all(dir_); }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  bool ok() const { return ok_; }
  std::string path(const std::string& file) const { return absl::StrCat(dir_, "/", file); }

  // `who`.pem and `who`.key signed by ca.pem, with `extensions` (openssl
  // x509 -extfile lines); `ca` another CA's stem to sign with.
  bool Mint(const std::string& who, const std::string& extensions, const std::string& ca = "ca") {
    std::ofstream(path(who + ".ext")) << extensions;
    return Sh(absl::StrCat(
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=", who,
        " -keyout ", who, ".key -out ", who, ".csr && openssl x509 -req -in ", who, ".csr -CA ", ca,
        ".pem -CAkey ", ca, ".key -CAcreateserial -days 1 -extfile ", who, ".ext -out ", who,
        ".pem"));
  }
  // A self-signed CA nobody trusts.
  bool MintCa(const std::string& who) {
    return Sh(absl::StrCat(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=",
        who, " -keyout ", who, ".key -out ", who, ".pem"));
  }
  std::string Read(const std::string& file) const {
    std::stringstream text;
    text << std::ifstream(path(file)).rdbuf();
    return text.str();
  }

 private:
  bool Sh(const std::string& command) {
    return std::system(absl::StrCat("cd ", dir_, " && (", command, ") >>log 2>&1").c_str()) == 0;
  }

  std::string dir_;
  bool ok_ = false;
};

}  // namespace weft

#endif  // WEFT_TESTS_TESTING_TEST_PKI_H_
