require ["fileinto", "envelope", "vacation", "imap4flags", "variables"];
if header :contains "subject" "project-0" { fileinto "Projects.P0"; stop; }
if header :contains "subject" "project-1" { fileinto "Projects.P1"; stop; }
if header :contains "subject" "project-2" { fileinto "Projects.P2"; stop; }
if header :contains "subject" "project-3" { fileinto "Projects.P3"; stop; }
if header :contains "subject" "project-4" { fileinto "Projects.P4"; stop; }
if header :contains "subject" "project-5" { fileinto "Projects.P5"; stop; }
if header :contains "subject" "project-6" { fileinto "Projects.P6"; stop; }
if header :contains "subject" "project-7" { fileinto "Projects.P7"; stop; }
if header :contains "subject" "project-8" { fileinto "Projects.P8"; stop; }
if header :contains "subject" "project-9" { fileinto "Projects.P9"; stop; }
if address :is :domain "from" "list0.example.org" { fileinto "Lists.L0"; stop; }
if address :is :domain "from" "list1.example.org" { fileinto "Lists.L1"; stop; }
if address :is :domain "from" "list2.example.org" { fileinto "Lists.L2"; stop; }
if address :is :domain "from" "list3.example.org" { fileinto "Lists.L3"; stop; }
if address :is :domain "from" "list4.example.org" { fileinto "Lists.L4"; stop; }
if address :is :domain "from" "list5.example.org" { fileinto "Lists.L5"; stop; }
if address :is :domain "from" "list6.example.org" { fileinto "Lists.L6"; stop; }
if address :is :domain "from" "list7.example.org" { fileinto "Lists.L7"; stop; }
if address :is :domain "from" "list8.example.org" { fileinto "Lists.L8"; stop; }
if address :is :domain "from" "list9.example.org" { fileinto "Lists.L9"; stop; }
if envelope :is "from" "boss0@example.com" { addflag "\\Flagged"; }
if envelope :is "from" "boss1@example.com" { addflag "\\Flagged"; }
if envelope :is "from" "boss2@example.com" { addflag "\\Flagged"; }
if envelope :is "from" "boss3@example.com" { addflag "\\Flagged"; }
if envelope :is "from" "boss4@example.com" { addflag "\\Flagged"; }
if header :matches "List-Id" "*<team0.example.net>*" { fileinto "Team0"; stop; }
if header :matches "List-Id" "*<team1.example.net>*" { fileinto "Team1"; stop; }
if header :matches "List-Id" "*<team2.example.net>*" { fileinto "Team2"; stop; }
if header :matches "List-Id" "*<team3.example.net>*" { fileinto "Team3"; stop; }
if header :contains "subject" "vacation-test-never-matches" { vacation :days 7 "I am away."; }
