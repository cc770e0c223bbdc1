# Turn a text file into a C array: -DIN=file -DOUT=file.c
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUT} "/* generated from conf/dnsstream.conf by cmake/embed.cmake */\n"
     "#include \"ds_config.h\"\nconst char ds_default_config[] = {${content} 0x00};\n")
