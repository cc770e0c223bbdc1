/*
 * ds_test.h - the unit-test harness: one binary per module, each TEST a function.
 *
 * ASSERT_* print both operands and the location, mark the test failed and return
 * from it.  main() comes from DS_TEST_MAIN(list...), runs every test and prints
 * "N passed, N failed"; the exit code is non-zero when anything failed.
 */
#ifndef DS_TEST_H
#define DS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int ds_test_failed_flag;

#define DS_FAIL_AT(...)                                        \
    do {                                                       \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);      \
        fprintf(stderr, __VA_ARGS__);                          \
        fputc('\n', stderr);                                   \
        ds_test_failed_flag = 1;                               \
        return;                                                \
    } while (0)

#define ASSERT_TRUE(c)                                          \
    do {                                                        \
        if (!(c))                                               \
            DS_FAIL_AT("expected true: %s", #c);                \
    } while (0)
#define ASSERT_EQ(a, b)                                                                   \
    do {                                                                                  \
        long long ds_a_ = (long long)(a), ds_b_ = (long long)(b);                         \
        if (ds_a_ != ds_b_)                                                               \
            DS_FAIL_AT("%s == %s: %lld != %lld", #a, #b, ds_a_, ds_b_);                   \
    } while (0)
#define ASSERT_U64_EQ(a, b)                                                               \
    do {                                                                                  \
        uint64_t ds_a_ = (uint64_t)(a), ds_b_ = (uint64_t)(b);                            \
        if (ds_a_ != ds_b_)                                                               \
            DS_FAIL_AT("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, ds_a_, ds_b_);        \
    } while (0)
#define ASSERT_OK(e) ASSERT_EQ((e), 0)
#define ASSERT_STR_EQ(a, b)                                                               \
    do {                                                                                  \
        const char *ds_a_ = (a), *ds_b_ = (b);                                            \
        if (!ds_a_ || !ds_b_ || strcmp(ds_a_, ds_b_) != 0)                                \
            DS_FAIL_AT("%s == %s:\n    got      \"%s\"\n    expected \"%s\"", #a, #b,     \
                       ds_a_ ? ds_a_ : "(null)", ds_b_ ? ds_b_ : "(null)");               \
    } while (0)
#define ASSERT_MEM_EQ(a, b, n)                                                            \
    do {                                                                                  \
        if (memcmp((a), (b), (n)) != 0)                                                   \
            DS_FAIL_AT("%s and %s differ in their first %zu bytes", #a, #b, (size_t)(n)); \
    } while (0)

typedef void (*ds_test_fn)(void);
struct ds_test_case {
    const char *name;
    ds_test_fn fn;
};
#define DS_TEST(fn) {#fn, fn}

static inline int ds_test_run(const struct ds_test_case *cases, size_t n)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        ds_test_failed_flag = 0;
        cases[i].fn();
        if (ds_test_failed_flag) {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        } else {
            passed++;
            fprintf(stderr, "ok   %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define DS_TEST_MAIN(...)                                                   \
    int main(void)                                                          \
    {                                                                       \
        static const struct ds_test_case cases[] = {__VA_ARGS__};           \
        return ds_test_run(cases, sizeof(cases) / sizeof(cases[0]));        \
    }

#endif
