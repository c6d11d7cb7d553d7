// abx-http: serve (the default), or a helper command for operators and tests:
//   abx-http [--config FILE]                        serve until SIGTERM
//   abx-http token --role R [--org O] [--sub S] [--ttl SECONDS] [--aud A] [--claims JSON]
//            [--key-file PEM --alg RS256|ES256 --kid K]   sign a token (default: jwt_secret)
//   abx-http hash-password                          read a password on stdin, print its hash
//   abx-http openapi                                print the OpenAPI document
// The configuration file is --config, else $ABX_HTTP_CONFIG; every key may come from the
// environment (ABX_HTTP_<KEY>).
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "auth.hpp"
#include "config.hpp"
#include "deliverer.hpp"
#include "jwt.hpp"
#include "openapi.hpp"
#include "server.hpp"

namespace {
using namespace abx::http;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("cannot read " + path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// jwt_secret may be "@/path/to/file" (the file's content, one trailing newline dropped).
std::string secret_value(const std::string& v) {
    if (v.empty() || v[0] != '@') return v;
    std::string s = read_file(v.substr(1));
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

jwt::Algorithm parse_alg(const std::string& a) {
    if (a == "RS256") return jwt::Algorithm::RS256;
    if (a == "ES256") return jwt::Algorithm::ES256;
    if (a == "HS256") return jwt::Algorithm::HS256;
    throw std::invalid_argument("unknown algorithm " + a);
}

jwt::KeySet load_keys(const Config& c) {
    jwt::KeySet keys;
    if (!c.jwt_secret.empty())
        keys.add(jwt::Key::hmac(secret_value(c.jwt_secret), c.jwt_secret_kid));
    for (const std::string& entry : c.jwt_public_keys) {
        // ALG:kid:/path/to/key.pem
        std::size_t a = entry.find(':'), b = entry.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos)
            throw std::invalid_argument("jwt_public_keys: expected ALG:kid:path, got " + entry);
        keys.add(jwt::Key::from_pem(parse_alg(entry.substr(0, a)), read_file(entry.substr(b + 1)),
                                    entry.substr(a + 1, b - a - 1)));
    }
    if (!c.jwks_file.empty()) keys.add_jwks(nlohmann::json::parse(read_file(c.jwks_file)));
    if (keys.empty())
        throw std::invalid_argument("no JWT key: set jwt_secret, jwt_public_keys or jwks_file");
    return keys;
}

Config load_config(int& argc, char** argv) {
    std::string path;
    if (const char* p = std::getenv("ABX_HTTP_CONFIG")) path = p;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--config") path = argv[i + 1];
    return parse_config(path.empty() ? "" : read_file(path), abx_environment());
}

std::string option(int argc, char** argv, const std::string& name,
                   const std::string& fallback = "") {
    for (int i = 2; i + 1 < argc; ++i)
        if (argv[i] == "--" + name) return argv[i + 1];
    return fallback;
}

int token(const Config& c, int argc, char** argv) {
    nlohmann::json claims = nlohmann::json::parse(option(argc, argv, "claims", "{}"));
    std::string role = option(argc, argv, "role");
    if (!role.empty()) claims[c.jwt_role_claim] = role;
    if (auto org = option(argc, argv, "org"); !org.empty()) claims["org"] = org;
    if (auto sub = option(argc, argv, "sub"); !sub.empty()) claims["sub"] = sub;
    if (auto aud = option(argc, argv, "aud"); !aud.empty()) claims["aud"] = aud;
    long long now = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    claims["iat"] = now;
    claims["exp"] = now + std::stoll(option(argc, argv, "ttl", "3600"));
    std::string key_file = option(argc, argv, "key-file");
    jwt::Key key = key_file.empty()
                       ? jwt::Key::hmac(secret_value(c.jwt_secret),
                                        option(argc, argv, "kid", c.jwt_secret_kid))
                       : jwt::Key::from_pem(parse_alg(option(argc, argv, "alg", "RS256")),
                                            read_file(key_file), option(argc, argv, "kid"));
    std::cout << jwt::sign(claims, key) << "\n";
    return 0;
}
}  // namespace

int main(int argc, char** argv) {
    try {
        std::string command = argc > 1 && argv[1][0] != '-' ? argv[1] : "serve";
        if (command == "hash-password") {
            std::string password;
            std::getline(std::cin, password);
            std::cout << hash_password(password) << "\n";
            return 0;
        }
        Config config = load_config(argc, argv);
        if (command == "openapi") {
            std::cout << openapi_document(config.version).dump(2) << "\n";
            return 0;
        }
        if (command == "token") return token(config, argc, argv);
        if (command != "serve") {
            std::cerr << "abx-http: unknown command " << command << "\n";
            return 2;
        }
        if (config.db_uri.empty()) throw std::invalid_argument("db_uri: not set");
        if (config.ui_dir.empty()) {
            // `make install` puts the page next to the binary's prefix: <prefix>/share/abx/ui.
            std::error_code ec;
            auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
            if (!ec)
                config.ui_dir = (exe.parent_path().parent_path() / "share" / "abx" / "ui").string();
        }
        Gateway gateway(config, load_keys(config));
        std::cerr << "abx-http " << config.version << " listening on " << config.listen_host << ":"
                  << config.listen_port << "\n";
        // The outbox's deliveries, on a thread and connection of their own (deliver = on).
        Deliverer deliverer(config);
        if (config.deliver) deliverer.start();
        int status = gateway.run();
        deliverer.stop();
        return status;
    } catch (const std::exception& e) {
        std::cerr << "abx-http: " << e.what() << "\n";
        return 1;
    }
}
