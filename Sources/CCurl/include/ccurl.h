#ifndef PHC_CCURL_H
#define PHC_CCURL_H
// The system's libcurl (libcurl.so.4), bound on first use.
//
// Linking libcurl makes every process load it and its ~30 dependencies
// (TLS, Kerberos, LDAP, SSH, IDN...) at start-up: about 4 ms on Debian 12,
// as much as the whole legacy health script. The agent runs every minute and
// most of its checks never speak HTTP, so the library is opened with dlopen
// the first time an HTTP call needs it, and its C API is then called directly
// through these typed wrappers (curl_easy_setopt and curl_easy_getinfo are
// variadic, which Swift cannot call).

#include <curl/curl.h>

/// Opens libcurl and runs curl_global_init once. Returns 1 when usable, 0 when
/// not (see ccurl_load_error). Safe to call from any thread, any number of times.
int ccurl_load(void);
/// Why ccurl_load failed, such as "libcurl.so.4: cannot open shared object file".
const char *_Nonnull ccurl_load_error(void);

// Each wrapper requires a successful ccurl_load() first.
CURL *_Nullable ccurl_easy_init(void);
void ccurl_easy_cleanup(CURL *_Nonnull handle);
CURLcode ccurl_easy_perform(CURL *_Nonnull handle);
const char *_Nonnull ccurl_easy_strerror(CURLcode code);
CURLcode ccurl_easy_setopt_long(CURL *_Nonnull handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_string(CURL *_Nonnull handle, CURLoption option, const char *_Nullable value);
CURLcode ccurl_easy_setopt_pointer(CURL *_Nonnull handle, CURLoption option, void *_Nullable value);
CURLcode ccurl_easy_setopt_slist(CURL *_Nonnull handle, CURLoption option, struct curl_slist *_Nullable value);
typedef size_t (*ccurl_write_callback)(char *_Nonnull data, size_t size, size_t count, void *_Nullable context);
CURLcode ccurl_easy_setopt_write_function(CURL *_Nonnull handle, ccurl_write_callback _Nullable callback);
/// CURLOPT_HEADERFUNCTION (one call per response header line; same contract as the write callback).
CURLcode ccurl_easy_setopt_header_function(CURL *_Nonnull handle, ccurl_write_callback _Nullable callback);
/// CURLOPT_POSTFIELDSIZE_LARGE then CURLOPT_COPYPOSTFIELDS: curl keeps its own copy of the body.
CURLcode ccurl_easy_set_post_body(CURL *_Nonnull handle, const void *_Nullable body, long length);
CURLcode ccurl_easy_getinfo_long(CURL *_Nonnull handle, CURLINFO info, long *_Nonnull value);
CURLcode ccurl_easy_getinfo_string(CURL *_Nonnull handle, CURLINFO info, char *_Nullable *_Nonnull value);
struct curl_slist *_Nullable ccurl_slist_append(struct curl_slist *_Nullable list, const char *_Nonnull text);
void ccurl_slist_free_all(struct curl_slist *_Nullable list);
/// LIBCURL_VERSION_NUM of the loaded library (0x075801 for 7.88.1), 0 when not loaded.
unsigned int ccurl_version_num(void);

#endif
