// Owning pointers for the OpenSSL objects banger handles (certificates, keys,
// BIOs, stores), freed with OpenSSL's own functions. Header-only, CAF-free.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace banger::ssl {

template <auto F>
struct Free {
  template <class T>
  void operator()(T* ptr) const {
    F(ptr);
  }
};

using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;

inline void free_cert_stack(STACK_OF(X509) * stack) {
  sk_X509_pop_free(stack, X509_free);
}
using CertStackPtr = std::unique_ptr<STACK_OF(X509), Free<free_cert_stack>>;

} // namespace banger::ssl
