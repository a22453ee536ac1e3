from ketadose.launch import main

main()
