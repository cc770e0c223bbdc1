# Warning flags and sanitizers, applied per target.
function(ds_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wformat=2
    -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter)
  if(DS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(DS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(DS_FUZZ)
  # Everything the fuzzers link is instrumented for coverage.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
